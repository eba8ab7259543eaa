"""Window definitions on event time: tumbling, hopping, sliding and session windows.

Times are integer milliseconds since the epoch (see ``windows_base``); sizes, advances, gaps
and grace periods are ``timedelta`` or integer ms. Each definition takes a ``grace`` period
(default 0): how long after its end a window still accepts out-of-order records, measured in
*stream time* (the largest event time seen in the partition). The exact rules:

- ``tumbling(size)``: windows ``[start, start + size)``, half-open, aligned to the epoch
  (``start`` is a multiple of ``size``). A record at ``t`` is in exactly one; a record at a
  window's end belongs to the next one.
- ``hopping(size, advance)``: windows ``[start, start + size)`` with ``start`` a multiple of
  ``advance`` (``0 < advance <= size``); a record is in ``ceil(size / advance)`` of them
  (or ``size // advance`` when ``advance`` divides ``size``).
- A time window closes when ``stream_time >= end + grace``.
- ``sliding(size)`` and ``session(gap)``: see ``windows_sliding`` and ``windows_session``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from edn_core.streams.windows_base import (
    MISSING,
    NO_TIME,
    Window,
    WindowDefinition,
    Work,
    duration_ms,
    from_ms,
    to_ms,
)
from edn_core.streams.windows_session import SessionWindows
from edn_core.streams.windows_sliding import SlidingWindows

__all__ = [
    "NO_TIME",
    "SessionWindows",
    "SlidingWindows",
    "TimeWindows",
    "WindowDefinition",
    "from_ms",
    "hopping",
    "session",
    "sliding",
    "to_ms",
    "tumbling",
]


class TimeWindows(WindowDefinition):
    """Fixed-size windows ``[start, start + size)`` every ``advance`` ms (tumbling when
    ``advance == size``), epoch-aligned."""

    def __init__(self, size: int | timedelta, advance: int | timedelta, grace: int | timedelta):
        self.size = duration_ms(size, "size")
        self.advance = duration_ms(advance, "advance")
        if self.size <= 0 or self.advance <= 0:
            raise ValueError("size and advance must be positive")
        if self.advance > self.size:
            raise ValueError(f"advance ({self.advance}) must not exceed size ({self.size})")
        self.grace = self._check_grace(grace)
        self.kind = "tumbling" if self.advance == self.size else "hopping"

    def __repr__(self) -> str:
        return f"TimeWindows(size={self.size}, advance={self.advance}, grace={self.grace})"

    def windows_of(self, t: int) -> list[Window]:
        """Every window containing ``t``, oldest first."""
        size, advance = self.size, self.advance
        start = t - t % advance  # the latest start <= t (floor, also for negative t)
        first = start
        while first - advance > t - size:
            first -= advance
        return [(s, s + size) for s in range(first, start + 1, advance)]

    def close_at(self, start: int, end: int) -> int:
        return end + self.grace

    def add(self, work: Work, key: str, t: int, value: Any, reducer: Any) -> tuple[Window, ...]:
        if self.advance == self.size:  # tumbling: the hot path, one window
            start = t - t % self.size
            window = (start, start + self.size)
            if window[1] + self.grace <= work.stream_time:
                return (window,)
            acc = work.get(key, window)
            work.put(key, window, reducer.add(reducer.init() if acc is MISSING else acc, value))
            return ()
        missed = []
        stream_time, grace = work.stream_time, self.grace
        for window in self.windows_of(t):
            if window[1] + grace <= stream_time:
                missed.append(window)
                continue
            acc = work.get(key, window)
            work.put(key, window, reducer.add(reducer.init() if acc is MISSING else acc, value))
        return tuple(missed)


def tumbling(size: int | timedelta, *, grace: int | timedelta = 0) -> TimeWindows:
    """Windows ``[k*size, (k+1)*size)``: every record in exactly one."""
    return TimeWindows(size, size, grace)


def hopping(
    size: int | timedelta, advance: int | timedelta, *, grace: int | timedelta = 0
) -> TimeWindows:
    """Windows ``[k*advance, k*advance + size)``: overlapping when ``advance < size``."""
    return TimeWindows(size, advance, grace)


def sliding(size: int | timedelta, *, grace: int | timedelta = 0) -> SlidingWindows:
    """One window ``[t - size, t]`` (both ends inclusive) ending at each record's time ``t``:
    the records of the key at most ``size`` ms older (see ``windows_sliding``)."""
    return SlidingWindows(size, grace)


def session(gap: int | timedelta, *, grace: int | timedelta = 0) -> SessionWindows:
    """Sessions: records of a key at most ``gap`` ms apart, merged when a record bridges
    two sessions (see ``windows_session``)."""
    return SessionWindows(gap, grace)
