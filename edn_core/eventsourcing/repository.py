"""Load and save event-sourced aggregates through an :class:`EventStore`.

The same verbs as :class:`edn_core.persistence.Repository` (``get``, ``get_many``, ``add``,
``save``, ``save_all``, ``change``), so command handlers read alike; loading replays the
stream after its snapshot, and ``get`` also travels in time (``version=`` / ``as_of=``).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Generic, TypeVar

from edn_core.domain import NotFound
from edn_core.eventsourcing.aggregate import EventSourcedAggregate
from edn_core.eventsourcing.codec import StoredEvent
from edn_core.eventsourcing.store import EventStore

__all__ = ["EventSourcedRepository"]

A = TypeVar("A", bound=EventSourcedAggregate)


class EventSourcedRepository(Generic[A]):
    """Aggregates of ``aggregate_type`` kept in ``store``."""

    def __init__(self, aggregate_type: type[A], store: EventStore) -> None:
        self.aggregate_type, self.store = aggregate_type, store
        self.events_read = 0  # on load, since this repository was made (tests, benchmarks)

    @property
    def alias(self) -> str:
        return self.store.alias

    def atomic(self, savepoint: bool = True):
        return self.store.atomic(savepoint=savepoint)

    def _missing(self, aggregate_id: Any) -> NotFound:
        return NotFound(f"{self.store.stream_type} {aggregate_id} does not exist.")

    # -- loading ----------------------------------------------------------------------------

    def get(
        self, aggregate_id: Any, *, version: int | None = None, as_of: datetime | None = None
    ) -> A:
        """The aggregate now, or as it was at stream ``version`` / at time ``as_of``."""
        if version is None and as_of is None:
            found = self.get_many([aggregate_id])
            if not found:
                raise self._missing(aggregate_id)
            return next(iter(found.values()))
        events = self.store.read(aggregate_id, upto=version, as_of=as_of)
        if not events:
            raise self._missing(aggregate_id)
        if version is not None and events[-1].version != version:
            raise NotFound(f"{self.store.stream_type} {aggregate_id} has no version {version}.")
        return self.rebuild(aggregate_id, None, events)

    def get_many(self, ids: Iterable[Any]) -> dict[Any, A]:
        """The aggregates with these ids (two queries); missing ones are absent."""
        by_stream = {str(i): i for i in ids}
        kind = self.aggregate_type
        snapshots = (
            self.store.snapshots_of(by_stream, kind.snapshot_version) if kind.snapshot_every else {}
        )
        after = {s: snapshots[s][0] if s in snapshots else 0 for s in by_stream}
        streams = self.store.read_many(after)
        built = self.rebuild_many(streams, snapshots, ids=by_stream)
        return {by_stream[stream_id]: aggregate for stream_id, aggregate in built.items()}

    def rebuild_many(
        self, streams: dict[str, list[StoredEvent]], snapshots=None, *, ids=None
    ) -> dict[str, A]:
        """``{stream id: aggregate}`` of the streams with events or a snapshot, all their events
        decoded in one call (a sealing codec reads all their keys in one query). ``ids`` gives
        each stream's aggregate id (default: the stream id as a UUID)."""
        snapshots = snapshots or {}
        decoded = iter(self.store.codec.decode_all([e for es in streams.values() for e in es]))
        built = {}
        for stream_id, events in streams.items():
            mine = [next(decoded) for _ in events]
            if events or stream_id in snapshots:
                aggregate_id = ids[stream_id] if ids else uuid.UUID(stream_id)
                built[stream_id] = self.rebuild(
                    aggregate_id, snapshots.get(stream_id), events, mine
                )
        return built

    def rebuild(self, aggregate_id: Any, snapshot, events: list[StoredEvent], decoded=None) -> A:
        """The aggregate from a snapshot ``(version, state)`` or None, and the events after
        (``decoded``: those events decoded already, e.g. many streams' in one call)."""
        if decoded is None:
            decoded = self.store.codec.decode_all(events)
        self.events_read += len(events)
        aggregate = self.aggregate_type.from_history(aggregate_id, decoded, snapshot=snapshot)
        if events:  # a stream may start above version 1 (imported from an older store)
            aggregate.version = events[-1].version
        return aggregate

    def history(self, aggregate_id: Any) -> list[tuple[StoredEvent, A]]:
        """Each event of the stream with the aggregate's state right after it."""
        events = self.store.read(aggregate_id)
        aggregate = self.aggregate_type.from_history(aggregate_id, [])
        states = []
        for stored, event in zip(events, self.store.codec.decode_all(events), strict=True):
            aggregate._apply(event)
            aggregate.version = stored.version
            states.append((stored, copy.deepcopy(aggregate)))
        return states

    # -- saving -----------------------------------------------------------------------------

    def add(self, aggregate: A) -> None:
        """Start the stream of a new aggregate (a conflict if it exists)."""
        self.save_all([aggregate])

    def save(self, aggregate: A) -> None:
        self.save_all([aggregate])

    def save_all(self, aggregates: list[A]) -> None:
        """Append the pending events of each aggregate at the version it was loaded at, in one
        statement; take the snapshots that became due. All or nothing."""
        changed = [a for a in aggregates if a.pending_events]
        if not changed:
            return
        # A savepoint inside the caller's transaction: a conflict undoes this save only, and
        # the caller may go on (tests/edn_core/test_batch_delivery.py holds it to that).
        with self.atomic():
            self.store.append_many([(str(a.id), a.version, a.pending_events) for a in changed])
            for aggregate in changed:
                before = aggregate.version
                aggregate.saved()
                if aggregate.wants_snapshot(before):
                    self.store.save_snapshot(
                        aggregate.id,
                        aggregate.version,
                        aggregate.snapshot_version,
                        aggregate.to_snapshot(),
                    )

    def change(
        self, aggregate_id: Any, change: Callable[[A], None], expected_version: int | None = None
    ) -> A:
        """Load, check ``expected_version``, apply ``change`` and append what it emitted, in
        one transaction; return the aggregate."""
        with self.atomic():
            aggregate = self.get(aggregate_id)
            aggregate.check_version(expected_version)
            change(aggregate)
            self.save(aggregate)
        return aggregate
