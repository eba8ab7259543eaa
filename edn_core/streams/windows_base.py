"""Event time and the base of every window definition (pure Python: no framework).

**Times are integers: milliseconds since the Unix epoch (UTC).** Exact (no float rounding),
cheap to compare and add in the per-entry loop, and JSON-serialisable as they are, so window
bounds and stream times are stored without conversion. ``to_ms`` and ``from_ms`` convert from
and to aware datetimes at the edges; durations are given as ``timedelta`` or integer ms.

A definition decides which windows a record belongs to and when a window closes; the
processor (``pipeline_process``) gives it a per-partition *work view* of the window states:

- ``stream_time``: the largest event time the partition has seen (this record's included);
- ``get(key, window) -> acc | MISSING``, ``put(key, window, acc)``, ``delete(key, window)``;
- ``windows(key) -> {window: acc}``: every window of the key (for merging definitions), a
  live view: read it, change it only through ``put``, ``delete`` and ``evict``;
- ``evict(key, window)``: the window is closed: its final result is emitted at the end of
  the batch and it leaves the view at once (a key's view stays small within a long batch).

A window is a ``(start, end)`` pair of ms. It is *closed* once ``stream_time >=
close_at(start, end)``: its final result is emitted, its state deleted, and a record that
would belong to it is late (side output).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

__all__ = [
    "DELETED",
    "MISSING",
    "NO_TIME",
    "WindowDefinition",
    "Work",
    "duration_ms",
    "from_ms",
    "to_ms",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
NO_TIME = -(2**63)  # the stream time of a partition that has seen no record yet
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()
DELETED: Any = type("Deleted", (), {"__repr__": lambda self: "DELETED"})()

Window = tuple[int, int]


def to_ms(when: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime (exact, floored to the ms)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"event times must be aware datetimes, not {when!r}")
    return (when - EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    """The aware UTC datetime of ``ms`` milliseconds since the epoch."""
    return EPOCH + timedelta(milliseconds=ms)


def duration_ms(value: int | timedelta, what: str = "duration") -> int:
    """A duration as integer milliseconds (a ``timedelta`` of whole ms, or an int)."""
    if isinstance(value, timedelta):
        ms, rest = divmod(value, _MS)
        if rest:
            raise ValueError(f"{what} must be a whole number of milliseconds: {value!r}")
        return ms
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be a timedelta or integer milliseconds: {value!r}")
    return value


class Work(Protocol):
    """The processor's working view of one partition's window states (see the module doc)."""

    stream_time: int

    def get(self, key: str, window: Window) -> Any: ...
    def put(self, key: str, window: Window, acc: Any) -> None: ...
    def delete(self, key: str, window: Window) -> None: ...
    def evict(self, key: str, window: Window) -> None: ...
    def windows(self, key: str) -> dict[Window, Any]: ...


class WindowDefinition:
    """What every definition provides. ``grace`` (ms) is how long after its end a window
    still takes late records; ``merging`` is true when windows are built by merging
    aggregates (sessions, sliding), which needs a reducer with ``merge``."""

    kind: str = ""
    grace: int = 0
    merging: bool = False

    def close_at(self, start: int, end: int) -> int:
        """The stream time at which the window ``(start, end)`` closes."""
        raise NotImplementedError

    def emits(self, start: int, end: int) -> bool:
        """Whether a stored ``(start, end)`` is a result window (not internal bookkeeping)."""
        return True

    def add(self, work: Work, key: str, t: int, value: Any, reducer: Any) -> tuple[Window, ...]:
        """Add the record ``(key, t, value)`` to its open windows; return the windows it
        belongs to that are already closed (empty: not late)."""
        raise NotImplementedError

    def _check_grace(self, grace: int | timedelta) -> int:
        grace = duration_ms(grace, "grace")
        if grace < 0:
            raise ValueError(f"grace must not be negative: {grace}")
        return grace
