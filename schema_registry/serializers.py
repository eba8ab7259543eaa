"""Request and response shapes of the registry API (Confluent's field names)."""

import json

from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from edn_core.cqrs.dto import StrictSerializer
from schema_registry import domain, errors
from schema_registry.limits import schema_limits
from schema_registry.models import MODES

MODE_NAMES = [mode for mode, _ in MODES]
MAX_VERSION = 2**31 - 1


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "description": "JSON text, as Confluent's clients send it"},
            {"type": "object"},
        ],
        "description": "the JSON Schema (draft 2020-12); a document that is not one, is larger"
        " than the registry's limits (EDN_SCHEMA_MAX_BYTES, _DEPTH, _SUBSCHEMAS) or holds U+0000"
        " anywhere is 422 (error_code 42201)",
    }
)
class SchemaDocumentField(serializers.JSONField):
    pass


class SchemaIn(StrictSerializer):
    schema = SchemaDocumentField()
    schemaType = serializers.ChoiceField(
        choices=["JSON"], required=False, help_text="only JSON (42201 otherwise)"
    )
    references = serializers.ListField(
        max_length=0, required=False, help_text="schema references are not supported"
    )


class ConfigIn(StrictSerializer):
    compatibility = serializers.ChoiceField(choices=MODE_NAMES, help_text="42203 otherwise")


def validated(serializer_class, data, codes: dict[str, int]) -> dict:
    """Return ``data`` validated by ``serializer_class``; a value outside a field's choices
    answers with that field's Confluent code from ``codes``, any other error is a 400."""
    body = serializer_class(data=data)
    if body.is_valid():
        return body.validated_data
    for field, code in codes.items():
        problems = body.errors.get(field, [])
        if any(getattr(problem, "code", None) == "invalid_choice" for problem in problems):
            raise errors.RegistryError(code, f"{field}: {problems[0]}")
    raise serializers.ValidationError(body.errors)


def schema_document(data) -> dict:
    """Return the valid schema document a request body carries (422 42201 when invalid)."""
    raw = validated(SchemaIn, data, {"schemaType": errors.INVALID_SCHEMA})["schema"]
    return domain.parse(raw, schema_limits())


def version_number(raw: str) -> int | None:
    """Return the version a path names (None: ``latest`` or ``-1``); 42202 when invalid."""
    if raw in ("latest", "-1"):
        return None
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_VERSION:
        raise errors.RegistryError(
            errors.INVALID_VERSION,
            f"Version {raw!r} is not valid: use 1 to {MAX_VERSION}, 'latest' or -1.",
        )
    return int(raw)


def version_body(found) -> dict:
    return {
        "subject": found.subject,
        "version": found.version,
        "id": found.id,
        "schemaType": "JSON",
        "schema": json.dumps(found.document),
    }


def config_body(mode: str) -> dict:
    # Confluent reads ``compatibilityLevel``; ``compatibility`` is this API's older name.
    return {"compatibilityLevel": mode, "compatibility": mode}


def _mode_field():
    return serializers.ChoiceField(choices=MODE_NAMES)


# The same modes under Confluent's other name; as a pattern, not a second enum component
# (drf-spectacular would name the one choice set twice).
@extend_schema_field({"type": "string", "pattern": f"^({'|'.join(MODE_NAMES)})$"})
class _ModeLevelField(serializers.ChoiceField):
    pass


VERSION = inline_serializer(
    "SchemaVersion",
    {
        "subject": serializers.CharField(),
        "version": serializers.IntegerField(min_value=1),
        "id": serializers.IntegerField(min_value=1),
        "schemaType": serializers.ChoiceField(choices=["JSON"]),
        "schema": serializers.CharField(help_text="the JSON Schema as JSON text"),
    },
)
REGISTERED = inline_serializer("RegisteredId", {"id": serializers.IntegerField(min_value=1)})
SCHEMA = inline_serializer(
    "SchemaById",
    {"schema": serializers.CharField(), "schemaType": serializers.ChoiceField(choices=["JSON"])},
)
CONFIG = inline_serializer(
    "RegistryConfig",
    {"compatibilityLevel": _ModeLevelField(choices=MODE_NAMES), "compatibility": _mode_field()},
)
CONFIG_SET = inline_serializer("RegistryConfigSet", {"compatibility": _mode_field()})
COMPATIBILITY = inline_serializer(
    "Compatibility",
    {
        "is_compatible": serializers.BooleanField(help_text="Confluent's name"),
        "isCompatible": serializers.BooleanField(help_text="the same, this API's older name"),
        "messages": serializers.ListField(child=serializers.CharField()),
    },
)
PROBLEM = inline_serializer(
    "RegistryProblem",
    {
        "type": serializers.CharField(),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(),
        "error_code": serializers.IntegerField(
            required=False,
            help_text="Confluent's error code: on every error a registry operation answers"
            " (not on a 404 for a path no route matches, nor on a 405)",
        ),
        "message": serializers.CharField(
            required=False, help_text="Confluent's name for detail, beside error_code"
        ),
        "errorCode": serializers.IntegerField(required=False, help_text="the same as error_code"),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()), required=False
        ),
        "messages": serializers.ListField(child=serializers.CharField(), required=False),
    },
)
