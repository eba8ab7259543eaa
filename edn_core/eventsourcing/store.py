"""The event store of one service app: its streams in the app's own alias.

``append`` writes a stream's new events with an expected version -- on PostgreSQL in one
statement that checks the stream is at that version, computes the ordering key of decision
0068 and inserts every row -- and the integration events they publish to the app's outbox, in
the caller's transaction: a stream, its outbox rows and anything else the command changed
commit together (decision 0069). A stream at another version is a ``ConcurrencyConflict``
(412 over HTTP), and the transaction is to be rolled back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from functools import cached_property
from typing import Any

from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from edn_core import tracing
from edn_core.bus.outbox import wake_notify_sql, wake_pending, write_outbox
from edn_core.bus.stores import find_model
from edn_core.domain import ConcurrencyConflict, DomainEvent
from edn_core.eventsourcing.appending import COLUMNS, insert_events
from edn_core.eventsourcing.codec import EventCodec, StoredEvent
from edn_core.eventsourcing.models import SnapshotBase, StoredEventBase
from edn_core.eventsourcing.running import wake_after_commit
from edn_core.routers import alias_for
from edn_core.sql_reads import select_in

__all__ = ["EventStore", "Pending"]

# (stream id, version it was loaded at, its new events)
Pending = tuple[str, int, Sequence[DomainEvent]]


def event_metadata() -> dict[str, Any]:
    """What the active context says caused the events being written."""
    context = tracing.current()
    return {
        "correlation_id": context.correlation_id,
        "causation_id": context.causation_id,
        "traceparent": context.traceparent,
        "subject": context.subject,
    }


class EventStore:
    """Streams of one kind (``stream_type``, e.g. ``order``) in ``app_label``'s store tables."""

    def __init__(self, app_label: str, stream_type: str, codec: EventCodec) -> None:
        self.app_label, self.stream_type, self.codec = app_label, stream_type, codec

    @cached_property
    def events(self) -> type[StoredEventBase]:
        return find_model(self.app_label, StoredEventBase)  # type: ignore[return-value]

    @cached_property
    def snapshots(self) -> type[SnapshotBase]:
        return find_model(self.app_label, SnapshotBase)  # type: ignore[return-value]

    @property
    def alias(self) -> str:
        return alias_for(self.app_label)

    def atomic(self, savepoint: bool = True):
        return transaction.atomic(using=self.alias, savepoint=savepoint)

    # -- writing ----------------------------------------------------------------------------

    def append(
        self, stream_id: Any, expected_version: int, events: Sequence[DomainEvent]
    ) -> list[StoredEvent]:
        """Append ``events`` to a stream at ``expected_version`` (0: a new stream)."""
        return self.append_many([(str(stream_id), expected_version, events)])

    def append_many(self, pending: Iterable[Pending]) -> list[StoredEvent]:
        """Append to several streams at once (one statement on PostgreSQL), each only if it is
        at its expected version; all or nothing. Publishes what the events publish."""
        now, metadata = timezone.now(), event_metadata()
        stored, prev, published = [], [], []
        pending = [(str(s), expected, list(events)) for s, expected, events in pending]
        every = [event for *_, events in pending for event in events]
        encoded = iter(self.codec.encode_all(every))  # a sealing codec: one key query
        for stream_id, expected, new_events in pending:
            for n, event in enumerate(new_events, expected + 1):
                kind, schema_version, data = next(encoded)
                stored.append(
                    StoredEvent(stream_id, n, kind, schema_version, data, metadata, None, now)
                )
                prev.append(expected)
                published.append((n, event))
        if not stored:
            return []
        if not connections[self.alias].in_atomic_block:
            raise RuntimeError("append inside the transaction of the change (store.atomic())")
        # the wake-up of projections in other processes rides with the insert (PostgreSQL
        # delivers it at the commit); this process's workers are called after the commit
        notify = None
        if connections[self.alias].vendor == "postgresql" and not wake_pending(self.alias):
            notify = wake_notify_sql(self.alias)
        try:
            positions = insert_events(
                self.events, self.alias, self.stream_type, stored, prev, notify
            )
        except IntegrityError as error:
            raise self._conflict(stored) from error
        if len(positions) != len(stored):
            raise self._conflict(stored)
        wake_after_commit(self.alias, notified=notify is not None)  # projections follow live
        write_outbox(self.app_label, published)
        return [replace(e, position=positions[(e.stream_id, e.version)]) for e in stored]

    def _conflict(self, stored: list[StoredEvent]) -> ConcurrencyConflict:
        streams = sorted({e.stream_id for e in stored})
        return ConcurrencyConflict(
            f"{self.stream_type} {', '.join(streams[:3])} changed concurrently.",
            expected=stored[0].version - 1 if len(streams) == 1 else None,
            actual=None,
        )

    def save_snapshot(self, stream_id: Any, version: int, snapshot_version: int, state: dict):
        """Keep ``state`` as the stream's snapshot at ``version`` (replacing an older one)."""
        self.snapshots._default_manager.using(self.alias).update_or_create(
            stream_id=str(stream_id),
            defaults={
                "version": version,
                "snapshot_version": snapshot_version,
                "state": state,
                "taken_at": timezone.now(),
            },
        )

    # -- reading ----------------------------------------------------------------------------

    def read(
        self,
        stream_id: Any,
        *,
        after: int = 0,
        upto: int | None = None,
        as_of: datetime | None = None,
    ) -> list[StoredEvent]:
        """The stream's events after version ``after``, up to version ``upto`` and recorded
        no later than ``as_of`` when given, oldest first."""
        return self.read_many({str(stream_id): after}, upto=upto, as_of=as_of)[str(stream_id)]

    def read_many(
        self,
        after: dict[str, int],
        *,
        upto: int | None = None,
        as_of: datetime | None = None,
    ) -> dict[str, list[StoredEvent]]:
        """Events of each stream after its given version, in one query."""
        found: dict[str, list[StoredEvent]] = {s: [] for s in after}
        if not after:
            return found
        where: list = [("version", ">", min(after.values()))]
        if upto is not None:
            where.append(("version", "<=", upto))
        if as_of is not None:
            where.append(("recorded_at", "<=", as_of))
        rows = select_in(
            self.events,
            self.alias,
            ("id", *COLUMNS),
            "stream_id",
            list(after),
            where=where,
            order_by=("stream_id", "version"),
        )
        for values in rows:
            position, stream_id, version, *rest = values
            if version > after[stream_id]:
                found[stream_id].append(
                    StoredEvent(stream_id, version, *rest[:4], position, rest[4])
                )
        return found

    def snapshots_of(self, stream_ids: Iterable[str], snapshot_version: int) -> dict[str, tuple]:
        """``{stream id: (version, state)}`` of the snapshots taken in ``snapshot_version``."""
        rows = select_in(
            self.snapshots,
            self.alias,
            ("stream_id", "version", "state"),
            "stream_id",
            list(stream_ids),
            where=[("snapshot_version", "=", snapshot_version)],
        )
        return {s: (v, state) for s, v, state in rows}
