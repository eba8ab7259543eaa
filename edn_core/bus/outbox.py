"""Write integration events into the outbox, in the caller's transaction.

The caller (a repository save inside a command handler) owns the transaction: the aggregate
and its events commit together or not at all. Once the transaction commits, one
``pg_notify`` (PostgreSQL, in its own transaction that does not wait for the disk) wakes the
relays of every process, and in-process relays are woken directly -- once per transaction
however many rows it wrote.
"""

from __future__ import annotations

import dataclasses
import uuid
import zlib
from collections.abc import Sequence
from functools import cache

from django.db import connections, transaction

from edn_core import tracing
from edn_core.bulk import insert_rows
from edn_core.bus.stores import store_for
from edn_core.domain import DomainEvent
from edn_core.events import IntegrationEvent, is_declared, message, publication_for
from edn_core.observability import messaging, otel

__all__ = [
    "NOTIFY_CHANNEL",
    "PARTITIONS",
    "append",
    "enqueue_message",
    "partition_of",
    "reply_all",
    "wake_after_commit",
    "wake_notify_sql",
    "wake_pending",
    "write_outbox",
]

# Relays lock partitions, not rows: all events of one aggregate share a partition, so one
# relay at a time publishes them, in order. Changing this needs an empty outbox.
PARTITIONS = 16
NOTIFY_CHANNEL = "edn_outbox"
_wake_listeners: list = []


def partition_of(aggregate_id: str) -> int:
    return zlib.crc32(aggregate_id.encode()) % PARTITIONS


def on_outbox_commit(listener) -> None:
    """Call ``listener(alias)`` after each commit that wrote outbox rows (in-process relays)."""
    _wake_listeners.append(listener)


def write_outbox(
    app_label: str, events: Sequence[tuple[int, DomainEvent]]
) -> list[IntegrationEvent]:
    """Append the published ones of ``events`` (``(sequence, event)`` pairs) to the outbox."""
    built = [
        (pub.build(app_label, event, seq))
        for seq, event in events
        if (pub := publication_for(event)) is not None
    ]
    return append(app_label, built)


def enqueue_message(
    app_label: str,
    topic: str,
    data: dict,
    *,
    key: str,
    correlation_id: str | None = None,
    event_id: str | None = None,
) -> IntegrationEvent:
    """Queue one message that is not an aggregate's event (a command to another service, a
    reply) in ``app_label``'s outbox, in the caller's transaction; the relay publishes it.

    ``key`` orders it: messages with one key are published in the order they were written.
    The correlation id defaults to the active context's (a reply keeps its request's).
    """
    if not is_declared(topic):
        raise LookupError(f"{topic} is not declared: call edn_core.events.sends({topic!r}, ...)")
    event = message(
        app_label, topic, data, key=key, correlation_id=correlation_id, event_id=event_id
    )
    append(app_label, [event])
    return event


def reply_all(app_label: str, replies: Sequence[tuple[IntegrationEvent, str, dict]]) -> None:
    """Answer each request with ``(request, topic, data)`` in one insert; each reply keeps its
    request's correlation id and trace, names it as cause, and is keyed like it."""
    built = []
    for request, topic, data in replies:
        if not is_declared(topic):
            raise LookupError(f"{topic} is not declared: call edn_core.events.sends(...)")
        context = tracing.caused_by(request.id, request.correlation_id, request.traceparent)
        with tracing.using(context):
            reply = message(app_label, topic, data, key=request.aggregate_id)
        if otel.enabled():  # the reply is created from its request, whatever span is active
            reply = dataclasses.replace(reply, traceparent=request.traceparent)
        built.append(reply)
    append(app_label, built)


def append(app_label: str, built: Sequence[IntegrationEvent]) -> list[IntegrationEvent]:
    """Append built events to ``app_label``'s outbox inside the open transaction."""
    if not built:
        return []
    store = store_for(app_label)
    connection = connections[store.alias]
    if not connection.in_atomic_block:
        raise RuntimeError("the outbox is written inside the transaction of the change it reports")
    built = messaging.created(built)
    insert_rows(
        store.outbox,
        store.alias,
        [
            store.outbox(
                event_id=uuid.UUID(e.id),
                topic=e.topic,
                aggregate_id=e.aggregate_id,
                sequence=e.sequence,
                partition=partition_of(e.aggregate_id),
                envelope=e.to_json(),
            )
            for e in built
        ],
    )
    wake_after_commit(store.alias)
    return list(built)


def wake_after_commit(alias: str, *, notified: bool = False) -> None:
    """Once the open transaction on ``alias`` commits, wake the bus workers (relays and
    projections) -- at most once per transaction. ``notified``: the caller sent the
    transaction's ``NOTIFY`` inside it (``wake_notify_sql``; PostgreSQL delivers it at the
    commit), so only this process's listeners are left to call."""
    if wake_pending(alias):
        return
    waker = _local_waker(alias) if notified else _waker(alias)
    transaction.on_commit(waker, using=alias, robust=True)


def wake_pending(alias: str) -> bool:
    """Whether the open transaction on ``alias`` already wakes the workers when it commits."""
    wakers = (_waker(alias), _local_waker(alias))
    return any(entry[1] in wakers for entry in connections[alias].run_on_commit)


def wake_notify_sql(alias: str) -> tuple[str, list[str]]:
    """The statement (and its parameters) that wakes other processes' workers once the
    transaction it runs in commits (PostgreSQL)."""
    return "SELECT pg_notify(%s, %s)", [NOTIFY_CHANNEL, alias]


@cache
def _local_waker(alias: str):
    def wake() -> None:
        for listener in _wake_listeners:
            listener(alias)

    return wake


_NOTIFY = "SELECT set_config('synchronous_commit', 'off', true), pg_notify(%s, %s)"


@cache
def _waker(alias: str):
    """After a commit that wrote outbox rows: wake relays in this process and, on PostgreSQL,
    in every process (NOTIFY). A crash right after the commit leaves them to the sweep."""

    def wake() -> None:
        connection = connections[alias]
        if connection.vendor == "postgresql":
            # its own transaction after the commit it announces, not waiting for the disk;
            # straight on the driver's connection (on every commit: the wrappers cost more)
            with connection.wrap_database_errors:
                connection.ensure_connection()
                connection.connection.execute(_NOTIFY, [NOTIFY_CHANNEL, alias])
        for listener in _wake_listeners:
            listener(alias)

    return wake
