"""The CloudEvents 1.0 structured-JSON envelope of integration events, written and read
with the CloudEvents SDK. Our own attributes are extensions: ``partitionkey`` (aggregate id),
``sequence`` (per aggregate; 0 for a message that is not an aggregate's event),
``correlationid``, ``causationid`` and ``traceparent``.

A broker message holds one event (structured mode, a JSON object) or several (batched mode,
``application/cloudevents-batch+json``: a JSON array of structured events); see
:func:`read_message`. What a received event must be besides a CloudEvent (values the bus
tables can keep, our extensions as strings): :mod:`edn_core.envelope_rules`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from edn_core import envelope_rules as rules

__all__ = ["TOPIC", "IntegrationEvent", "InvalidEnvelope", "read_message"]

REQUIRED = ("id", "source", "type", "specversion", "time", "subject", "sequence")
TOPIC = re.compile(r"^v[1-9][0-9]*\.[A-Z][A-Za-z0-9]*\Z")
_FORMAT = JSONFormat()


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)


class InvalidEnvelope(ValueError):
    """A received message is not a CloudEvent this platform can deliver."""


@dataclass(frozen=True)
class IntegrationEvent:
    id: str
    topic: str
    source: str
    time: datetime
    aggregate_id: str
    sequence: int
    correlation_id: str
    causation_id: str | None
    traceparent: str
    data: dict[str, Any]
    dataschema: str | None = None

    def to_json(self) -> str:
        """Serialize as a CloudEvents 1.0 structured-mode JSON document."""
        attributes = {
            "id": self.id,
            "source": self.source,
            "type": self.topic,
            "specversion": "1.0",
            "time": self.time,
            "subject": self.aggregate_id,
            "datacontenttype": "application/json",
            "partitionkey": self.aggregate_id,
            "sequence": str(self.sequence),
            "correlationid": self.correlation_id,
            "traceparent": self.traceparent,
        }
        if self.causation_id:
            attributes["causationid"] = self.causation_id
        if self.dataschema:
            attributes["dataschema"] = self.dataschema
        return _FORMAT.write(CloudEvent(attributes, self.data)).decode("utf-8")

    @classmethod
    def from_json(cls, raw: str | bytes) -> IntegrationEvent:
        """Read a structured CloudEvent; raise :class:`InvalidEnvelope` unless it is ours."""
        try:
            text = raw if isinstance(raw, str) else raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidEnvelope(f"not UTF-8: {error}") from None
        return cls.from_dict(_loads(text), checked=not rules.suspect(text))

    @classmethod
    def from_dict(cls, parsed: Any, *, checked: bool = False) -> IntegrationEvent:
        """An already parsed structured CloudEvent (one element of a batch, say): checked by
        the SDK's ``CloudEvent`` and by our own rules; raise :class:`InvalidEnvelope`.
        ``checked`` says its text was seen free of characters that need a closer look."""
        # The SDK would fill in a missing id or time; a received event must carry its own.
        if not isinstance(parsed, dict) or any(parsed.get(k) in (None, "") for k in REQUIRED):
            raise InvalidEnvelope(f"a CloudEvent needs {REQUIRED}")
        attrs = {k: v for k, v in parsed.items() if v is not None}  # null is absent
        data = attrs.pop("data", None)
        problem = rules.attribute_error(attrs)
        if problem is None and not checked:
            problem = rules.character_error(attrs)
        if problem:
            raise InvalidEnvelope(f"event {str(attrs['id'])[:100]!r}: {problem}")
        try:
            attrs["time"] = datetime.fromisoformat(attrs["time"].upper())
            CloudEvent(attrs, data)  # the SDK's checks of attribute names, types and values
        except (BaseCloudEventException, ValueError, TypeError, KeyError) as error:
            raise InvalidEnvelope(f"not a valid CloudEvent: {error}") from None
        if not isinstance(data, dict) or not TOPIC.match(attrs["type"]):
            raise InvalidEnvelope(
                f"event {attrs['id']} must have object data and a versioned topic as type, "
                f"not {attrs['type']!r}"
            )
        problem = None if checked else rules.unstorable(data)
        if problem:
            raise InvalidEnvelope(f"event {attrs['id']}: data {problem}")
        return cls(
            id=attrs["id"],
            topic=attrs["type"],
            source=attrs["source"],
            time=attrs["time"],
            aggregate_id=attrs["subject"],
            sequence=int(attrs["sequence"]),
            correlation_id=attrs.get("correlationid") or attrs["id"],
            causation_id=attrs.get("causationid"),
            traceparent=attrs.get("traceparent", ""),
            data=data,
            dataschema=attrs.get("dataschema"),
        )


def _loads(text: str) -> Any:
    """Strict JSON: no NaN or Infinity, and a depth Python can parse."""
    try:
        return _DECODER.decode(text)
    except (ValueError, RecursionError) as error:
        raise InvalidEnvelope(f"not a valid CloudEvent: {type(error).__name__}: {error}") from None


Read = tuple[Any, "IntegrationEvent | InvalidEnvelope"]


def read_message(raw: str | bytes) -> list[Read]:
    """The events of a received message, in order, each with its source (the text, or the
    parsed element of a batch) and the event or why it is not one. A message that is not
    JSON, or neither an object nor an array, is one invalid entry with its text."""
    try:
        text = raw if isinstance(raw, str) else raw.decode("utf-8")
    except UnicodeDecodeError as error:  # kept readable for the dead letter, never delivered
        return [(raw.decode("utf-8", errors="replace"), InvalidEnvelope(f"not UTF-8: {error}"))]
    try:
        parsed = _loads(text)
    except InvalidEnvelope as error:
        return [(text, error)]
    checked = not rules.suspect(text)
    if not isinstance(parsed, list):
        return [(text, _event_or_error(parsed, checked))]
    # A source that is a str is the text of the event: a string element is kept as JSON.
    return [
        (
            json.dumps(element) if isinstance(element, str) else element,
            _event_or_error(element, checked),
        )
        for element in parsed
    ]


def _event_or_error(parsed: Any, checked: bool) -> IntegrationEvent | InvalidEnvelope:
    try:
        return IntegrationEvent.from_dict(parsed, checked=checked)
    except InvalidEnvelope as error:
        return error


def source_text(source: Any) -> str:
    """The text of an event's source as :func:`read_message` gave it (kept with failures)."""
    if isinstance(source, str):
        return source
    try:
        return json.dumps(source, separators=(",", ":"))
    except (ValueError, RecursionError):  # nested deeper than Python can write back
        return f"<a {type(source).__name__} nested too deeply to keep>"
