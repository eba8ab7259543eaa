"""An aggregate whose state comes only from applying its own events."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Self

from edn_core.domain import AggregateRoot, DomainEvent

__all__ = ["EventSourcedAggregate", "applies"]


def applies(*event_types: type[DomainEvent]) -> Callable:
    """Mark a method as the one that changes the aggregate's state for ``event_types``."""

    def mark(method: Callable) -> Callable:
        method._edn_applies = event_types  # type: ignore[attr-defined]
        return method

    return mark


class EventSourcedAggregate(AggregateRoot):
    """Methods decide and call :meth:`emit`; ``@applies`` methods change state, nothing else.

    ``version`` is the stream's version the aggregate was loaded at (0: a new stream), as for
    every aggregate; :attr:`current_version` counts the events emitted since. Loading replays
    the stream (:meth:`from_history`), optionally after a snapshot (``snapshot_every`` events;
    a snapshot of another ``snapshot_version`` is ignored).
    """

    snapshot_every: ClassVar[int | None] = None
    snapshot_version: ClassVar[int] = 1
    _appliers: ClassVar[dict[type[DomainEvent], Callable]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found = dict(cls._appliers)
        for value in vars(cls).values():
            for event_type in getattr(value, "_edn_applies", ()):
                found[event_type] = value
        cls._appliers = found

    def __init__(self, id: uuid.UUID) -> None:
        super().__init__(id, version=0)

    @property
    def current_version(self) -> int:
        """The version the stream has once the pending events are appended."""
        return self.version + len(self.pending_events)

    def emit(self, event: DomainEvent) -> None:
        """Apply ``event`` to the state and keep it for the next append."""
        self._apply(event)
        self.record(event)

    def _apply(self, event: DomainEvent) -> None:
        applier = self._appliers.get(type(event))
        if applier is None:
            raise TypeError(
                f"{type(self).__name__} has no @applies method for {type(event).__name__}"
            )
        applier(self, event)

    @classmethod
    def from_history(
        cls,
        id: uuid.UUID,
        events: Iterable[DomainEvent],
        *,
        snapshot: tuple[int, dict[str, Any]] | None = None,
    ) -> Self:
        """Rebuild the aggregate: from ``snapshot`` ``(version, state)`` if given, then by
        applying ``events`` (those after the snapshot), oldest first."""
        if snapshot is None:
            aggregate = cls(id)
        else:
            aggregate = cls.from_snapshot(id, snapshot[1])
            aggregate.version = snapshot[0]
        for event in events:
            aggregate._apply(event)
            aggregate.version += 1
        return aggregate

    def saved(self) -> None:
        """The pending events were appended: they are the stream's now."""
        self.version = self.current_version
        self.pull_events()

    def wants_snapshot(self, previous_version: int) -> bool:
        """Whether the append that took the stream from ``previous_version`` to
        :attr:`version` crossed a multiple of ``snapshot_every``."""
        every = self.snapshot_every
        return bool(every) and self.version // every > previous_version // every  # type: ignore[operator]

    def to_snapshot(self) -> dict[str, Any]:
        """Return the state as JSON-able data (aggregates with ``snapshot_every`` override)."""
        raise NotImplementedError(f"{type(self).__name__} sets snapshot_every: write to_snapshot")

    @classmethod
    def from_snapshot(cls, id: uuid.UUID, state: dict[str, Any]) -> Self:
        """Return the aggregate in the state :meth:`to_snapshot` gave."""
        raise NotImplementedError(f"{cls.__name__} sets snapshot_every: write from_snapshot")
