"""CommandViewSet (write side) and QueryViewSet (read side) for one URL space.

Views only translate: HTTP in, a command or a selector call, HTTP out. The outcome-to-status
mapping lives in :mod:`edn_core.cqrs.problems`; ETags come from the aggregate version.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.urls import reverse
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from edn_core import tracing
from edn_core.cqrs.dto import StrictSerializer
from edn_core.cqrs.messages import Command, send
from edn_core.cqrs.openapi import CqrsAutoSchema
from edn_core.cqrs.preconditions import etag, expected_version, matches_if_none_match
from edn_core.cqrs.problems import problem_for_result

__all__ = ["CommandViewSet", "QueryViewSet"]


class CommandViewSet(viewsets.ViewSet):
    """Write side: parse an input DTO, send one command, answer from its outcome.

    Subclasses set ``output_serializer_class`` and ``detail_route`` (the URL name of an item)
    and implement the actions they support by calling :meth:`read` and :meth:`run`.
    """

    output_serializer_class: type[serializers.Serializer]
    detail_route: str = ""
    lookup_value_converter = "uuid"
    schema = CqrsAutoSchema()

    def read(self, serializer_class: type[serializers.Serializer], *, partial: bool = False):
        """Validate the request body against ``serializer_class``; return validated data."""
        serializer = serializer_class(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def if_match(self) -> int | None:
        """Return the version pinned by If-Match (428 when absent, 412 when unusable)."""
        return expected_version(self.request.headers.get("If-Match"))

    def run(self, command: Command, *, status_code: int = status.HTTP_200_OK) -> Response:
        """Send ``command`` and turn its result into a response (body, ETag, Location)."""
        with acting_as(self.request):
            result = send(command)
        if not result.accepted:
            return problem_for_result(result)
        if status_code == status.HTTP_204_NO_CONTENT or result.value is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        aggregate = result.value
        response = Response(self.output_serializer_class(aggregate).data, status=status_code)
        response["ETag"] = etag(aggregate.version)
        if status_code in (status.HTTP_201_CREATED, status.HTTP_202_ACCEPTED):
            response["Location"] = reverse(self.detail_route, kwargs={"pk": aggregate.id})
        return response


def acting_as(request):
    """The message context of work done for ``request``: its authenticated subject (if any)
    is who caused it (event metadata, audit records)."""
    user = getattr(request, "user", None)
    subject = str(user.get_username()) if user and user.is_authenticated else None
    return tracing.using(dataclasses.replace(tracing.current(), subject=subject))


class QueryViewSet(viewsets.GenericViewSet):
    """Read side: list through a selector with pagination; retrieve with ETag and 304.

    ``filter_serializer_class`` declares the list's query parameters besides pagination;
    any other parameter is refused with 400, like an unknown body field.
    """

    output_serializer_class: type[serializers.Serializer]
    filter_serializer_class: type[StrictSerializer] | None = None
    lookup_value_converter = "uuid"
    schema = CqrsAutoSchema()

    def select_many(self, filters: dict) -> Any:
        """Return the rows to list, given the validated filters."""
        raise NotImplementedError

    def select_one(self, pk) -> Any:
        raise NotImplementedError

    def get_serializer_class(self):
        return self.output_serializer_class

    def filters(self) -> dict:
        """Validate the query string against ``filter_serializer_class`` (400 when invalid)."""
        return self.query(self.filter_serializer_class or StrictSerializer)

    def query(self, serializer_class: type[StrictSerializer]) -> dict:
        """The query string (besides pagination) validated by ``serializer_class`` (400)."""
        paging = {self.paginator.page_query_param, self.paginator.page_size_query_param}
        params = {k: v for k, v in self.request.query_params.items() if k not in paging}
        serializer = serializer_class(data=params)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def list(self, request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.select_many(self.filters()))
        return self.get_paginated_response(self.output_serializer_class(page, many=True).data)

    def retrieve(self, request, pk=None, *args, **kwargs) -> Response:
        row = self.select_one(pk)
        if row is None:
            raise NotFound(f"No resource with id {pk}.")
        tag = etag(row.version)
        if matches_if_none_match(request.headers.get("If-None-Match"), row.version):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": tag})
        return Response(self.output_serializer_class(row).data, headers={"ETag": tag})
