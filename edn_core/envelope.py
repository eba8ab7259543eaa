"""The CloudEvents 1.0 structured-JSON envelope of integration events, written and read
with the CloudEvents SDK. Our own attributes are extensions: ``partitionkey`` (aggregate id),
``sequence`` (per aggregate; 0 for a message that is not an aggregate's event),
``correlationid``, ``causationid`` and ``traceparent``.

A broker message holds one event (structured mode, a JSON object) or several (batched mode,
``application/cloudevents-batch+json``: a JSON array of structured events); see
:func:`read_message`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

__all__ = ["TOPIC", "IntegrationEvent", "InvalidEnvelope", "read_message"]

REQUIRED = ("id", "source", "type", "specversion", "time", "subject", "sequence")
TOPIC = re.compile(r"^v[1-9][0-9]*\.[A-Z][A-Za-z0-9]*$")
_FORMAT = JSONFormat()


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
            parsed = json.loads(raw)
        except (ValueError, TypeError) as error:
            raise InvalidEnvelope(f"not a valid CloudEvent: {error}") from None
        return cls.from_dict(parsed)

    @classmethod
    def from_dict(cls, parsed: Any) -> IntegrationEvent:
        """An already parsed structured CloudEvent (one element of a batch, say): checked by
        the SDK's ``CloudEvent`` and by our own rules; raise :class:`InvalidEnvelope`."""
        # The SDK would fill in a missing id or time; a received event must carry its own.
        if not isinstance(parsed, dict) or not all(parsed.get(k) for k in REQUIRED):
            raise InvalidEnvelope(f"a CloudEvent needs {REQUIRED}")
        attrs = dict(parsed)
        data = attrs.pop("data", None)
        try:
            attrs["time"] = datetime.fromisoformat(attrs["time"])
            CloudEvent(attrs, data)  # the SDK's checks of attribute names, types and values
        except (BaseCloudEventException, ValueError, TypeError, KeyError) as error:
            raise InvalidEnvelope(f"not a valid CloudEvent: {error}") from None
        if not isinstance(data, dict) or not TOPIC.match(attrs["type"]):
            raise InvalidEnvelope(
                f"event {attrs['id']} must have object data and a versioned topic as type, "
                f"not {attrs['type']!r}"
            )
        try:
            sequence = int(attrs["sequence"])
        except (TypeError, ValueError):
            raise InvalidEnvelope(f"sequence {attrs['sequence']!r} is not an integer") from None
        return cls(
            id=attrs["id"],
            topic=attrs["type"],
            source=attrs["source"],
            time=attrs["time"],
            aggregate_id=attrs["subject"],
            sequence=sequence,
            correlation_id=attrs.get("correlationid") or attrs["id"],
            causation_id=attrs.get("causationid"),
            traceparent=attrs.get("traceparent", ""),
            data=data,
            dataschema=attrs.get("dataschema"),
        )


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
        parsed = json.loads(text)
    except ValueError as error:
        return [(text, InvalidEnvelope(f"not a valid CloudEvent: {error}"))]
    if not isinstance(parsed, list):
        return [(text, _event_or_error(parsed))]
    return [(element, _event_or_error(element)) for element in parsed]


def _event_or_error(parsed: Any) -> IntegrationEvent | InvalidEnvelope:
    try:
        return IntegrationEvent.from_dict(parsed)
    except InvalidEnvelope as error:
        return error


def source_text(source: Any) -> str:
    """The text of an event's source as :func:`read_message` gave it (kept with failures)."""
    return source if isinstance(source, str) else json.dumps(source, separators=(",", ":"))
