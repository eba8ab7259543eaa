"""Which handler of which app consumes which topic."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edn_core.events import TOPIC

__all__ = ["Subscription", "subscribe", "subscriptions", "subscriptions_for", "unsubscribe"]


@dataclass(frozen=True)
class Subscription:
    topic: str
    app_label: str
    handler: Callable[[Any], None]
    latest_wins: bool = False
    batch: bool = False
    # Its reader schema in code, or the label of the app whose reader file it reads by
    reads: dict | str | None = field(default=None, compare=False)

    @property
    def consumer(self) -> str:
        """Stable name of this handler in inbox and dead-letter rows."""
        return f"{self.app_label}.{self.handler.__name__}"


_SUBSCRIPTIONS: dict[str, Subscription] = {}
_BY_TOPIC: dict[str, list[Subscription]] = {}


def subscribe(
    topic: str,
    *,
    latest_wins: bool = False,
    app: str | None = None,
    batch: bool = False,
    reads: dict | str | None = None,
):
    """Run the decorated function for every event published under ``topic``.

    The handler runs in a transaction on its app's alias together with the inbox row, so a
    redelivered event has no second effect. With ``latest_wins`` an event older than one
    already applied for the same aggregate is skipped (for events that carry state).
    ``app`` defaults to the package the handler is defined in.

    With ``batch=True`` the handler takes a list of events: those of one delivery batch
    (with ``latest_wins``, only the newest per aggregate), in one call and one transaction,
    so it can do set-based work; after a failed batch it is called with one event at a time.

    What the handler reads of the event is its app's reader schema,
    ``<app>/schemas/reads/<topic>.json`` (:mod:`edn_core.readers`). ``reads`` declares it
    for a handler that runs for code of another app (the saga engine): a schema in code, or
    the label of the app whose reader file says what that code reads.
    """
    if not TOPIC.match(topic):
        raise ValueError(f"topic {topic!r} must look like v1.SomethingHappened")

    def register(handler: Callable[[Any], None]):
        label = app or handler.__module__.split(".")[0]
        sub = Subscription(topic, label, handler, latest_wins, batch, reads)
        _SUBSCRIPTIONS[sub.consumer] = sub
        _BY_TOPIC.clear()
        return handler

    return register


def unsubscribe(consumer: str) -> None:
    """Remove a subscription (tests register temporary ones)."""
    _SUBSCRIPTIONS.pop(consumer, None)
    _BY_TOPIC.clear()


def subscriptions() -> list[Subscription]:
    return sorted(_SUBSCRIPTIONS.values(), key=lambda s: (s.topic, s.consumer))


def subscriptions_for(topic: str) -> list[Subscription]:
    """The subscriptions of ``topic`` (looked up per delivery: kept per topic)."""
    found = _BY_TOPIC.get(topic)
    if found is None:
        found = _BY_TOPIC[topic] = [s for s in subscriptions() if s.topic == topic]
    return list(found)


def by_consumer(consumer: str) -> Subscription | None:
    return _SUBSCRIPTIONS.get(consumer)
