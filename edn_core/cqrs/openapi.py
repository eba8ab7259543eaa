"""OpenAPI generation: sees through :func:`edn_core.cqrs.routes.resource` dispatchers and
states, once for every service, what the shared bases do.

:class:`CqrsAutoSchema` documents the conditional-request headers of the CQRS viewsets;
:class:`SchemaGenerator` adds the problem+json error responses every operation can give
and the links a client (or a stateful fuzzer) follows from a created resource.
"""

from __future__ import annotations

from django.urls import URLPattern
from drf_spectacular import generators
from drf_spectacular.extensions import (
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from edn_core.cqrs.openapi_document import (
    PROBLEM_SCHEMA,
    describe_successes,
    document_errors,
    link_created_resources,
)
from edn_core.cqrs.openapi_security import ScopedAutoSchema

__all__ = [
    "ETAG",
    "IF_MATCH",
    "IF_NONE_MATCH",
    "LOCATION",
    "CqrsAutoSchema",
    "SchemaGenerator",
    "field_examples",
    "wrong_state",
]

IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=True,
    pattern=r'^(\*|"[0-9]+")$',
    description='The ETag of the version this change is based on, or "*" for any version.',
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    OpenApiParameter.HEADER,
    description="ETags already held: 304 Not Modified when one is current.",
)
ETAG = OpenApiParameter(
    "ETag",
    str,
    OpenApiParameter.HEADER,
    response=[200, 201, 202, 304],
    required=True,
    pattern=r'^"[0-9]+"$',
    description="The version of the resource in this response (strong ETag).",
)
LOCATION = OpenApiParameter(
    "Location",
    str,
    OpenApiParameter.HEADER,
    response=[201, 202],
    required=True,
    description="The URL of the created resource.",
)


def wrong_state(resource: str) -> OpenApiResponse:
    """The 409 of a command that ``resource``'s current state refuses (its problem+json body
    is added by :class:`SchemaGenerator`, like every error's)."""
    return OpenApiResponse(description=f"The {resource} is in a state that does not allow this.")


def field_examples(**values):
    """Decorate a DTO with an ``example`` per field for the document: what Swagger UI shows and
    schemathesis sends first, so each must be valid by the field's schema (a test checks)."""

    def decorate(serializer_class):
        serializer_class.field_examples = {**getattr(serializer_class, "field_examples", {})}
        serializer_class.field_examples.update(values)
        return serializer_class

    return decorate


class CqrsAutoSchema(ScopedAutoSchema):
    """Document the headers of :mod:`edn_core.cqrs.viewsets`: list filters, ETag on item
    responses, Location on creation, If-Match on every other command, If-None-Match on reads;
    and an item read's answers: the output DTO, or 304 Not Modified."""

    def get_response_serializers(self):
        if getattr(self.view, "action", None) == "retrieve":
            return {200: self.view.output_serializer_class, 304: None}
        return super().get_response_serializers()

    def _postprocess_serializer_schema(self, schema, serializer, direction):
        schema = super()._postprocess_serializer_schema(schema, serializer, direction)
        properties = schema.get("properties", {})
        for name, value in getattr(serializer, "field_examples", {}).items():
            if name in properties and "$ref" not in properties[name]:
                properties[name]["example"] = value
        return schema

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        action = getattr(self.view, "action", None)
        if action == "list":
            filters = getattr(self.view, "filter_serializer_class", None)
            parameters += [filters] if filters is not None else []
        elif action == "retrieve":
            parameters += [IF_NONE_MATCH, ETAG]
        elif action == "create":
            parameters += [ETAG, LOCATION]
        elif action is not None and self.method != "GET":  # a command (a GET view: neither)
            parameters += [IF_MATCH, ETAG]
        return parameters


class StrictSerializerExtension(OpenApiSerializerExtension):
    """A StrictSerializer refuses unknown fields: ``additionalProperties: false`` says so."""

    target_class = "edn_core.cqrs.dto.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}


class UniqueItemsExtension(OpenApiSerializerFieldExtension):
    """A UniqueItemsListField is documented with ``uniqueItems: true``."""

    target_class = "edn_core.cqrs.dto.UniqueItemsListField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        return {**schema, "uniqueItems": True}


class EndpointEnumerator(generators.EndpointEnumerator):
    def _get_api_endpoints(self, patterns, prefix):
        if patterns is None:
            patterns = self.patterns
        endpoints = []
        for pattern in patterns:
            views = getattr(getattr(pattern, "callback", None), "method_views", None)
            if isinstance(pattern, URLPattern) and views:
                path_regex = prefix + str(pattern.pattern)
                path = self.get_path_from_regex(path_regex)
                endpoints += [(path, path_regex, method, view) for method, view in views.items()]
            else:
                endpoints += super()._get_api_endpoints([pattern], prefix)
        return endpoints


class SchemaGenerator(generators.SchemaGenerator):
    endpoint_inspector_cls = EndpointEnumerator

    def get_schema(self, request=None, public=False):
        schema = super().get_schema(request=request, public=public)
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        for methods in schema.get("paths", {}).values():
            for method, operation in methods.items():
                document_errors(operation)
                describe_successes(operation, method)
        link_created_resources(schema.get("paths", {}))
        return schema
