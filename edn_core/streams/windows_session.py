"""Session windows: bursts of activity of one key separated by a gap of inactivity.

A session is ``[start, end]``, both ends inclusive: the times of its first and last record.
Two records of a key are in one session when they are at most ``gap`` ms apart, directly or
through records between them (Kafka Streams' inactivity gap). A record at ``t`` joins every
session with ``start - gap <= t <= end + gap``; when it touches two (or more) it **bridges**
them: they are replaced by one session whose aggregate merges theirs (in start order) and then
adds the record, so the reducer needs ``merge``.

Late records and closing, with ``ST`` the partition's stream time:

- a record is late when ``t + grace < ST`` (it is older than the grace period allows); it is
  sent to the side output whole (reported with the window ``(t, t)``) and changes nothing;
- a session closes when ``ST > end + gap + grace``: no record still accepted can reach it
  (it would have to be at most ``gap`` after ``end``, hence late), so its final result is
  emitted once and is never revised.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from edn_core.streams.windows_base import Window, WindowDefinition, Work, duration_ms

__all__ = ["SessionWindows"]


class SessionWindows(WindowDefinition):
    """Sessions with inactivity ``gap`` (ms) and a ``grace`` period (see the module doc)."""

    kind = "session"
    merging = True

    def __init__(self, gap: int | timedelta, grace: int | timedelta) -> None:
        self.gap = duration_ms(gap, "gap")
        if self.gap <= 0:
            raise ValueError(f"gap must be positive: {self.gap}")
        self.grace = self._check_grace(grace)

    def __repr__(self) -> str:
        return f"SessionWindows(gap={self.gap}, grace={self.grace})"

    def close_at(self, start: int, end: int) -> int:
        return end + self.gap + self.grace + 1

    def add(self, work: Work, key: str, t: int, value: Any, reducer: Any) -> tuple[Window, ...]:
        if t + self.grace < work.stream_time:
            return ((t, t),)
        gap, now = self.gap, work.stream_time
        sessions = work.windows(key)
        touched = []
        for window in list(sessions):
            if window[1] + gap + self.grace < now:  # closed (it cannot be touched: see above)
                work.evict(key, window)
            elif window[0] - gap <= t <= window[1] + gap:
                touched.append(window)
        touched.sort()
        if not touched:
            work.put(key, (t, t), reducer.add(reducer.init(), value))
            return ()
        first = touched[0]
        if len(touched) == 1 and first[0] <= t <= first[1]:  # inside: the window stays
            work.put(key, first, reducer.add(sessions[first], value))
            return ()
        acc = sessions[first]
        for window in touched[1:]:
            acc = reducer.merge(acc, sessions[window])
        for window in touched:
            work.delete(key, window)
        merged = (min(first[0], t), max(touched[-1][1], t))
        work.put(key, merged, reducer.add(acc, value))
        return ()
