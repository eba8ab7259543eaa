"""The processor's working view of one partition during a batch (see ``windows_base`` for
the interface the window definitions use). The input state is only read: every change goes
to an overlay, which ``pipeline_process`` turns into the batch's result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edn_core.streams.pipeline_state import PartitionState
from edn_core.streams.windows_base import DELETED, MISSING, NO_TIME

__all__ = ["CLOSED", "Work"]

Window = tuple[int, int]
CLOSED: Any = type("Closed", (), {"__repr__": lambda self: "CLOSED"})()


class Work:
    """One partition's windows during a batch: ``stored`` (never changed), the ``changed``
    overlay, live per-key ``views`` of both (merging definitions) and the windows ``closed``
    during the batch (evicted: emitted and deleted at its end)."""

    __slots__ = (
        "changed",
        "closed",
        "late",
        "load",
        "offset",
        "start_time",
        "stored",
        "stream_time",
        "views",
    )

    def __init__(self, state: PartitionState, load: Callable[[Any], Any]) -> None:
        position = state.position
        self.stored = state.windows
        self.changed: dict[str, dict[Window, Any]] = {}
        self.views: dict[str, dict[Window, Any]] = {}
        self.closed: list[tuple[str, Window, Any]] = []
        self.offset, self.late, self.load = position.offset, position.late, load
        time = position.stream_time
        self.stream_time = self.start_time = NO_TIME if time is None else time

    def get(self, key: str, window: Window) -> Any:
        changed = self.changed.get(key)
        if changed is not None:
            acc = changed.get(window, MISSING)
            if acc is not MISSING:
                return MISSING if acc is DELETED or acc is CLOSED else acc
        stored = self.stored.get(key)
        if stored is None:
            return MISSING
        acc = stored.get(window, MISSING)
        return acc if acc is MISSING else self.load(acc)

    def put(self, key: str, window: Window, acc: Any) -> None:
        changed = self.changed.get(key)
        if changed is None:
            changed = self.changed[key] = {}
        changed[window] = acc
        view = self.views.get(key)
        if view is not None:
            if acc is DELETED or acc is CLOSED:
                view.pop(window, None)
            else:
                view[window] = acc

    def delete(self, key: str, window: Window) -> None:
        self.put(key, window, DELETED)

    def evict(self, key: str, window: Window) -> None:
        self.closed.append((key, window, self.windows(key)[window]))
        self.put(key, window, CLOSED)

    def windows(self, key: str) -> dict[Window, Any]:
        view = self.views.get(key)
        if view is None:
            stored, load = self.stored.get(key), self.load
            view = {window: load(acc) for window, acc in stored.items()} if stored else {}
            for window, acc in self.changed.get(key, {}).items():
                if acc is DELETED or acc is CLOSED:
                    view.pop(window, None)
                else:
                    view[window] = acc
            self.views[key] = view
        return view
