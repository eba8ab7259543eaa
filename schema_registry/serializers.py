"""Request/response shapes and error mapping of the registry API (Confluent style)."""

import json

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from edn_core.cqrs import Outcome
from edn_core.cqrs.dto import StrictSerializer
from edn_core.cqrs.problems import problem
from edn_core.domain import NotFound
from schema_registry.models import MODES

STATUS = {Outcome.INVALID: 422, Outcome.NOT_FOUND: 404, Outcome.CONFLICT: 409}
SLUG = {422: "invalid-schema", 404: "not-found", 409: "incompatible-schema"}


def refused(result) -> Response:
    status = STATUS.get(result.outcome, 400)
    code = result.details.get("code", {422: 42201, 409: 409}.get(status))
    return problem(
        status, result.message, SLUG[status], errorCode=code, messages=result.details.get("reasons")
    )


def not_found(error: NotFound) -> Response:
    return problem(404, error.message, "not-found", errorCode=error.details.get("code"))


class SchemaIn(StrictSerializer):
    schema = serializers.JSONField(help_text="the JSON Schema, as a JSON string or an object")
    schemaType = serializers.ChoiceField(choices=["JSON"], required=False)
    references = serializers.ListField(max_length=0, required=False)

    def validate_schema(self, value):
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError as error:
                raise serializers.ValidationError(f"Not JSON: {error}") from None
        return value


class ConfigIn(StrictSerializer):
    compatibility = serializers.ChoiceField(choices=[m for m, _ in MODES])


VERSION = inline_serializer(
    "SchemaVersion",
    {
        "subject": serializers.CharField(),
        "version": serializers.IntegerField(),
        "id": serializers.IntegerField(),
        "schemaType": serializers.CharField(),
        "schema": serializers.CharField(),
    },
)


def version_body(found) -> dict:
    return {
        "subject": found.subject,
        "version": found.version,
        "id": found.id,
        "schemaType": "JSON",
        "schema": json.dumps(found.document),
    }


def version_number(raw: str) -> int | None:
    if raw in ("latest", "-1"):
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise serializers.ValidationError({"version": ["A positive integer or 'latest'."]})
    return int(raw)
