"""Upcasters: read an event stored in an older shape as the current one, on read only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Upcasters"]

Data = dict[str, Any]


class Upcasters:
    """A chain per event type: ``(type, n) -> fn`` turns shape ``n`` into shape ``n + 1``.

    Stored rows are never rewritten: an event written at version 1 is upcast every time it
    is read, through every step up to the current version of its type.
    """

    def __init__(self) -> None:
        self._steps: dict[tuple[str, int], Callable[[Data], Data]] = {}

    def register(self, event_type: str, from_version: int) -> Callable:
        """Decorate ``fn(data) -> data`` taking ``event_type`` from ``from_version`` on."""

        def add(fn: Callable[[Data], Data]) -> Callable[[Data], Data]:
            key = (event_type, from_version)
            if key in self._steps:
                raise ValueError(f"{event_type} already has an upcaster from {from_version}")
            self._steps[key] = fn
            return fn

        return add

    def current_version(self, event_type: str) -> int:
        """The version an event of this type is written at today."""
        versions = [n for (name, n) in self._steps if name == event_type]
        return max(versions) + 1 if versions else 1

    def upcast(self, event_type: str, version: int, data: Data) -> tuple[int, Data]:
        """Return ``(current version, data in that shape)``; refuse a gap in the chain or an
        event from the future (written by newer code than this)."""
        current = self.current_version(event_type)
        if version > current:
            raise ValueError(f"{event_type} v{version} is newer than this code (v{current})")
        while version < current:
            step = self._steps.get((event_type, version))
            if step is None:
                raise LookupError(f"{event_type}: no upcaster from v{version}")
            data = step(dict(data))
            version += 1
        return version, data
