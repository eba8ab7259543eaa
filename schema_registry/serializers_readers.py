"""Request and response shapes of reader schemas and of a planned reader break."""

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from edn_core.cqrs.dto import StrictSerializer
from edn_core.readers import CONSUMER
from schema_registry import domain, errors
from schema_registry.commands_readers import BreakReaders
from schema_registry.limits import schema_limits
from schema_registry.serializers import SchemaIn, validated


class ReaderOverrideIn(StrictSerializer):
    consumers = serializers.ListField(
        child=serializers.RegexField(CONSUMER.pattern, max_length=100),
        min_length=1,
        max_length=100,
        help_text="the registered readers this version may break",
    )
    reason = serializers.CharField(max_length=2000, help_text="why; kept with who asked")


class VersionIn(SchemaIn):
    readerOverride = ReaderOverrideIn(
        required=False,
        help_text="a planned break: register although it breaks these readers (recorded)",
    )


def version_request(data) -> tuple[dict, BreakReaders | None]:
    """The schema document and the planned reader break (if any) a registration carries."""
    body = validated(VersionIn, data, {"schemaType": errors.INVALID_SCHEMA})
    override = body.get("readerOverride")
    planned = (
        BreakReaders(consumers=tuple(override["consumers"]), reason=override["reason"])
        if override
        else None
    )
    return domain.parse(body["schema"], schema_limits()), planned


def consumer_name(raw: str) -> str:
    """Return the consumer name a path carries (422, error_code 42250, when it is not one)."""
    if not CONSUMER.match(raw):
        raise errors.RegistryError(
            errors.INVALID_CONSUMER,
            f"Consumer {raw!r} is not valid: a letter, then up to 99 letters, digits, '_', '.'"
            " or '-'.",
        )
    return raw


READER = inline_serializer(
    "SchemaReader",
    {
        "subject": serializers.CharField(),
        "consumer": serializers.CharField(),
        "id": serializers.IntegerField(min_value=1, help_text="the reader schema's global id"),
    },
)
READERS = inline_serializer(
    "SchemaReaders",
    {
        "consumer": serializers.CharField(),
        "id": serializers.IntegerField(min_value=1),
        "schemaType": serializers.ChoiceField(choices=["JSON"]),
        "schema": serializers.CharField(help_text="the reader schema as JSON text"),
        "reads": inline_serializer(
            "SchemaReaderField",
            {
                "field": serializers.CharField(help_text="a data path, e.g. lines[].productId"),
                "required": serializers.BooleanField(),
            },
            many=True,
        ),
        "registeredBy": serializers.CharField(),
        "registeredAt": serializers.DateTimeField(),
    },
    many=True,
)
RETIRED = inline_serializer(
    "SchemaReaderRetired",
    {"subject": serializers.CharField(), "consumer": serializers.CharField()},
)
REGISTERED_VERSION = inline_serializer(
    "RegisteredVersion",
    {
        "id": serializers.IntegerField(min_value=1),
        "overriddenReaders": serializers.ListField(
            child=serializers.CharField(),
            required=False,
            help_text="the readers a planned break (readerOverride) broke; absent otherwise",
        ),
    },
)
