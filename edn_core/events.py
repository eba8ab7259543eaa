"""Integration events: what crosses a service boundary (envelope in :mod:`edn_core.envelope`).

An app declares which of its domain events it publishes, under which versioned topic
(``v1.CustomerAddressUpdated``) and with which data, using :func:`publishes`; and with
:func:`sends`, the topics of messages it writes directly (a saga's commands, the replies of
its participants). :func:`message` builds either kind in the active message context.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from edn_core import schemas, tracing
from edn_core.domain import DomainEvent
from edn_core.envelope import TOPIC, IntegrationEvent, InvalidEnvelope

__all__ = [
    "IntegrationEvent",
    "InvalidEnvelope",
    "Publication",
    "message",
    "publication_for",
    "publishes",
    "sends",
]


@dataclass(frozen=True)
class Publication:
    topic: str
    to_data: Callable[[Any], dict[str, Any]]
    app: str = ""

    @property
    def app_label(self) -> str:
        """The app that publishes this topic (the package declaring it)."""
        return self.app or self.to_data.__module__.split(".")[0]

    def build(self, app_label: str, event: DomainEvent, sequence: int) -> IntegrationEvent:
        """Turn ``event`` into the integration event it publishes, in the active context."""
        return message(
            app_label,
            self.topic,
            self.to_data(event),
            key=str(event.aggregate_id),
            sequence=sequence,
            time=event.occurred_at,
        )


def message(
    app_label: str,
    topic: str,
    data: dict[str, Any],
    *,
    key: str,
    sequence: int = 0,
    time: datetime | None = None,
    correlation_id: str | None = None,
    event_id: str | None = None,
) -> IntegrationEvent:
    """Build an integration event in the active message context, validated against its schema.

    ``key`` is the partition key (the aggregate id; for a saga's commands and their replies,
    the saga id); ``sequence`` 0 marks a message that is not one of an aggregate's events.
    """
    if not TOPIC.match(topic):
        raise ValueError(f"topic {topic!r} must look like v1.SomethingHappened")
    context = tracing.current()
    data = json.loads(json.dumps(data, default=str))  # plain JSON types only
    dataschema = schemas.validate_for_publish(topic, data)
    return IntegrationEvent(
        id=event_id or str(uuid.uuid4()),
        topic=topic,
        source=f"/{app_label}",
        time=time or datetime.now(UTC),
        aggregate_id=key,
        sequence=sequence,
        correlation_id=correlation_id or context.correlation_id,
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
        _PUBLISHED_TOPICS.add(topic)
        return to_data

    return register


def publication_for(event: DomainEvent) -> Publication | None:
    """Return how ``event`` is published, or None for events that stay inside the app."""
    return _PUBLICATIONS.get(type(event))


def sends(*topics: str, app: str) -> None:
    """Declare the topics ``app`` queues with :func:`edn_core.bus.outbox.enqueue_message`
    (commands to other services, replies): they need schemas and show in the AsyncAPI
    document like events."""
    for topic in topics:
        if not TOPIC.match(topic):
            raise ValueError(f"topic {topic!r} must look like v1.SomethingHappened")
        _SENT[topic] = Publication(topic, dict, app)


def is_declared(topic: str) -> bool:
    """Whether some app declared it publishes or sends ``topic`` (checked on every write)."""
    return topic in _SENT or topic in _PUBLISHED_TOPICS


_SENT: dict[str, Publication] = {}
_PUBLISHED_TOPICS: set[str] = set()


def publications() -> list[Publication]:
    return sorted([*_PUBLICATIONS.values(), *_SENT.values()], key=lambda p: p.topic)


def published_topics() -> list[str]:
    return sorted({publication.topic for publication in publications()})
