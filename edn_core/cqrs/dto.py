"""Input DTO building blocks: serializers that refuse what they do not declare.

Each field accepts exactly what the OpenAPI document states for it, so that data generated
from the document is accepted and anything else is refused with 400.
"""

import re
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

__all__ = [
    "VISIBLE_TEXT",
    "StrictCharField",
    "StrictDecimalField",
    "StrictIntegerField",
    "StrictSerializer",
    "StrictUUIDField",
    "UniqueItemsListField",
    "optional_fields",
]

# At least one character that is neither whitespace nor a control character, and no NUL:
# what is left after trimming is never blank, and every database can store it.
VISIBLE_TEXT = r"^[^\x00]*[^\s\x00-\x1f][^\x00]*$"
_CANONICAL_UUID = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")


class StrictSerializer(serializers.Serializer):
    """An input DTO that refuses unknown fields (at every nesting level)."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        errors = {name: [self._unknown(name)] for name in unknown}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if not isinstance(error.detail, dict):
                raise
            errors = {**error.detail, **errors}
        if errors:
            raise serializers.ValidationError(errors)
        return value

    def _unknown(self, name: Any) -> str:
        """Name the declared field a snake_case name means (``first_name`` -> ``firstName``)."""
        camel = re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), str(name))
        sources = {field.source: key for key, field in self.fields.items()}
        meant = camel if camel in self.fields else sources.get(name)
        if meant and meant != name:
            return f"Unknown field; field names are camelCase: {meant}."
        return "Unknown field."


class StrictCharField(serializers.CharField):
    """Only JSON strings (DRF's own also takes numbers) with visible text (see
    :data:`VISIBLE_TEXT`); ``max_length`` counts the text as sent, before trimming."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not self.allow_blank:
            self.validators.append(RegexValidator(VISIBLE_TEXT, "Enter some visible text."))

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class StrictUUIDField(serializers.UUIDField):
    """Only the canonical ``8-4-4-4-12`` hex form in a JSON string (DRF's own turns 42 into
    a UUID and takes ``urn:uuid:`` and brace forms)."""

    def to_internal_value(self, data: Any):
        if not isinstance(data, str) or not _CANONICAL_UUID.fullmatch(data):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """Only JSON integers (DRF's own also takes "7" and 7.0)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictDecimalField(serializers.DecimalField):
    """A decimal as a JSON string of plain digits (``"77.50"``), never a JSON number.

    DRF's own also takes numbers, exponents, signs, padding and non-ASCII digits; the pattern
    stated in the OpenAPI document is the one enforced here.
    """

    def __init__(self, *, max_digits: int, decimal_places: int, **kwargs: Any) -> None:
        super().__init__(max_digits=max_digits, decimal_places=decimal_places, **kwargs)
        sign = "" if self.min_value is not None and self.min_value >= 0 else "-?"
        whole = max_digits - decimal_places
        fraction = rf"(\.[0-9]{{1,{decimal_places}}})?" if decimal_places else ""
        self.pattern = rf"^{sign}[0-9]{{1,{whole}}}{fraction}$"
        extend_schema_field({"type": "string", "format": "decimal", "pattern": self.pattern})(self)

    default_error_messages = {"format": 'A decimal in a JSON string is required, e.g. "12.50".'}

    def to_internal_value(self, data: Any):
        if not isinstance(data, str) or not re.fullmatch(self.pattern, data):
            self.fail("format")
        return super().to_internal_value(data)


class Rfc3339DateTimeField(serializers.DateTimeField):
    """Any RFC 3339 time with its offset (``2026-12-01T10:00:00Z``), as an aware UTC datetime;
    a time without an offset is ambiguous and refused. Fractions beyond microseconds are cut,
    a leap second reads as its last microsecond, and a time beyond what Python represents in
    UTC reads as the first or last representable instant."""

    default_error_messages = {"offset": "An RFC 3339 time with an offset is required."}

    def to_internal_value(self, value: Any):
        found = _RFC3339.fullmatch(value) if isinstance(value, str) else None
        if found is None:
            self.fail("offset")
        year, month, day, hour, minute, second, fraction, zone = found.groups()
        micro = int((fraction or "")[:6].ljust(6, "0"))
        if second == "60":  # a leap second
            second, micro = "59", 999_999
        sign = 1 if zone[0] == "+" else -1
        offset = 0 if zone in "Zz" else sign * (int(zone[1:3]) * 60 + int(zone[4:6]))
        try:
            local = datetime(*map(int, (year, month, day, hour, minute, second)), micro)
            return local.replace(tzinfo=dt_timezone(timedelta(minutes=offset))).astimezone(UTC)
        except OverflowError:  # within a day of year 1 or year 9999
            return (datetime.min if offset > 0 else datetime.max).replace(tzinfo=UTC)
        except ValueError:  # February 30th, hour 25, an offset of a day or more
            self.fail("offset")


_RFC3339 = re.compile(  # ASCII digits only (\d takes any script's digits); T, not a space
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


class UniqueItemsListField(serializers.ListField):
    """A list the domain refuses to hold twice the same item: documented as ``uniqueItems``
    (the rule itself, e.g. one line per product, stays in the domain)."""


def optional_fields(serializer_class: type[StrictSerializer], name: str) -> type[StrictSerializer]:
    """Return a copy of ``serializer_class`` whose fields, nested ones too, are all optional:
    the body of a PATCH, documented as such (a partial serializer is documented as required)."""
    fields = {}
    for field_name, field in serializer_class._declared_fields.items():
        kwargs = {**field._kwargs, "required": False}
        if isinstance(field, StrictSerializer):
            nested_name = type(field).__name__.removesuffix("In") + "Changes"
            nested = optional_fields(type(field), nested_name)
            fields[field_name] = nested(*field._args, **kwargs)
        else:
            fields[field_name] = type(field)(*field._args, **kwargs)
    examples = {"field_examples": getattr(serializer_class, "field_examples", {})}
    return type(name, (StrictSerializer,), {**fields, **examples})
