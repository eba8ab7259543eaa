"""Sliding windows: for each record, the records of its key at most ``size`` ms older.

This is a simpler, exactly defined variant of Kafka Streams' sliding windows (whose windows
are every distinct set of records within ``size`` of each other: a window ending at each
record *and* one starting just after each). Here a record at ``t`` defines one window,
``[t - size, t]`` with **both ends inclusive**, holding every record of the key whose time is
in it, also records that arrive later out of order (within the grace period). So two records
are in a common window iff they are at most ``size`` apart; the result of the window ending
at ``t`` answers "how many (how much) in the ``size`` ms up to this record". Records at the
same time share a window.

State: besides the windows, each distinct record time ``t`` of a key keeps a **slice**, the
aggregate of the records at exactly ``t``, stored as the window ``(t, t)`` (never a result:
a real window spans ``size >= 1`` ms). A new window is built by merging the slices it covers,
so the reducer needs ``merge``; a record is added to its own window, to every open window
ending in ``[t, t + size]`` and to its slice.

Late records and closing, with ``ST`` the partition's stream time:

- the window ending at ``t`` closes when ``ST > t + grace``; a record whose own window is
  closed is late: sent to the side output (reported with its own window), while still added
  to the open windows of later records (and to its slice, while one of those may still be
  created);
- a slice is dropped when ``ST > t + size + grace``: every window that could include it is
  closed by then.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from edn_core.streams.windows_base import MISSING, Window, WindowDefinition, Work, duration_ms

__all__ = ["SlidingWindows"]


class SlidingWindows(WindowDefinition):
    """Windows ``[t - size, t]`` ending at each record (see the module doc)."""

    kind = "sliding"
    merging = True

    def __init__(self, size: int | timedelta, grace: int | timedelta) -> None:
        self.size = duration_ms(size, "size")
        if self.size <= 0:
            raise ValueError(f"size must be positive: {self.size}")
        self.grace = self._check_grace(grace)

    def __repr__(self) -> str:
        return f"SlidingWindows(size={self.size}, grace={self.grace})"

    def close_at(self, start: int, end: int) -> int:
        if start == end:  # a slice
            return end + self.size + self.grace + 1
        return end + self.grace + 1

    def emits(self, start: int, end: int) -> bool:
        return start != end

    def add(self, work: Work, key: str, t: int, value: Any, reducer: Any) -> tuple[Window, ...]:
        size, grace, now = self.size, self.grace, work.stream_time
        own = (t - size, t)
        if t + size + grace < now:  # no open window can hold it any more
            return (own,)
        windows = work.windows(key)
        containing, slices = [], []
        for window, acc in list(windows.items()):
            start, end = window
            if start == end:  # a slice
                if end + size + grace < now:
                    work.evict(key, window)
                elif own[0] <= start <= t:
                    slices.append((start, acc))
            elif end + grace < now:
                work.evict(key, window)
            elif start <= t <= end:
                containing.append((window, acc))
        late = t + grace < now
        if not late and own not in windows:  # built from the slices it covers, oldest first
            acc = reducer.init()
            for _start, part in sorted(slices, key=_first):
                acc = reducer.merge(acc, part)
            containing.append((own, acc))
        for window, acc in containing:
            work.put(key, window, reducer.add(acc, value))
        slice_ = (t, t)
        current = windows.get(slice_, MISSING)
        work.put(key, slice_, reducer.add(reducer.init() if current is MISSING else current, value))
        return (own,) if late else ()


def _first(pair: tuple[int, Any]) -> int:
    return pair[0]
