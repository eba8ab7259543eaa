"""Integration events: what crosses a service boundary, as CloudEvents 1.0 structured JSON.

An app declares which of its domain events it publishes, under which versioned topic
(``v1.CustomerAddressUpdated``) and with which data, using :func:`publishes`. The envelope is
built and read by the CloudEvents SDK; our own attributes are CloudEvents extensions:
``partitionkey`` (aggregate id), ``sequence`` (per-aggregate), ``correlationid``,
``causationid`` and ``traceparent``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from edn_core import schemas, tracing
from edn_core.domain import DomainEvent

__all__ = ["IntegrationEvent", "InvalidEnvelope", "Publication", "publication_for", "publishes"]

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
            # The SDK fills in a missing id or time; a received event must carry its own.
            parsed = json.loads(raw)
            if not isinstance(parsed, dict) or not all(parsed.get(k) for k in REQUIRED):
                raise InvalidEnvelope(f"a CloudEvent needs {REQUIRED}")
            event = _FORMAT.read(None, raw)
        except (BaseCloudEventException, ValueError, TypeError, KeyError) as error:
            raise InvalidEnvelope(f"not a valid CloudEvent: {error}") from None
        attrs, data = event.get_attributes(), event.get_data()
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


@dataclass(frozen=True)
class Publication:
    topic: str
    to_data: Callable[[Any], dict[str, Any]]

    @property
    def app_label(self) -> str:
        """The app that publishes this topic (the package declaring it)."""
        return self.to_data.__module__.split(".")[0]

    def build(self, app_label: str, event: DomainEvent, sequence: int) -> IntegrationEvent:
        """Turn ``event`` into the integration event it publishes, in the active context."""
        context = tracing.current()
        data = json.loads(json.dumps(self.to_data(event), default=str))  # plain JSON types only
        dataschema = schemas.validate_for_publish(self.topic, data)
        return IntegrationEvent(
            id=str(uuid.uuid4()),
            topic=self.topic,
            source=f"/{app_label}",
            time=event.occurred_at,
            aggregate_id=str(event.aggregate_id),
            sequence=sequence,
            correlation_id=context.correlation_id,
            causation_id=context.causation_id,
            traceparent=context.traceparent,
            data=data,
            dataschema=dataschema,
        )


_PUBLICATIONS: dict[type[DomainEvent], Publication] = {}


def publishes(event_type: type[DomainEvent], *, topic: str):
    """Publish each ``event_type`` under ``topic`` with the data the decorated function returns."""
    if not TOPIC.match(topic):
        raise ValueError(f"topic {topic!r} must look like v1.SomethingHappened")

    def register(to_data: Callable[[Any], dict[str, Any]]):
        _PUBLICATIONS[event_type] = Publication(topic, to_data)
        return to_data

    return register


def publication_for(event: DomainEvent) -> Publication | None:
    """Return how ``event`` is published, or None for events that stay inside the app."""
    return _PUBLICATIONS.get(type(event))


def publications() -> list[Publication]:
    return sorted(_PUBLICATIONS.values(), key=lambda p: p.topic)


def published_topics() -> list[str]:
    return sorted({publication.topic for publication in _PUBLICATIONS.values()})
