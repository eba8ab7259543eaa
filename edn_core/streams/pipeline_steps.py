"""A pipeline's stateless steps (map, filter, key_by, flat_map) compiled into one function
``entry -> [(key, value), ...]`` (pure Python)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edn_core.streams.port import Entry

__all__ = ["FILTER", "FLAT_MAP", "KEY_BY", "MAP", "compile_steps"]

MAP, FILTER, KEY_BY, FLAT_MAP = range(4)


def _run(steps: tuple, start: int, key: str, value: Any, out: list) -> None:
    for i in range(start, len(steps)):
        kind, fn = steps[i]
        if kind == MAP:
            value = fn(value)
        elif kind == FILTER:
            if not fn(value):
                return
        elif kind == KEY_BY:
            key = fn(value)
            if type(key) is not str:
                key = str(key)
        else:
            for item in fn(value):
                _run(steps, i + 1, key, item, out)
            return
    out.append((key, value))


def compile_steps(steps: tuple, source: Callable[[Entry], Any] | None) -> Callable:
    """``entry -> [(key, value), ...]``: the steps as one function (a straight line when no
    step is a flat_map: the per-entry hot path)."""
    get = source or (lambda entry: entry.value)
    if any(kind == FLAT_MAP for kind, _fn in steps):

        def run_all(entry: Entry) -> list[tuple[str, Any]]:
            out: list[tuple[str, Any]] = []
            _run(steps, 0, entry.key, get(entry), out)
            return out

        return run_all

    def run(entry: Entry) -> list[tuple[str, Any]]:
        key, value = entry.key, get(entry)
        for kind, fn in steps:
            if kind == MAP:
                value = fn(value)
            elif kind == FILTER:
                if not fn(value):
                    return []
            else:
                key = fn(value)
                if type(key) is not str:
                    key = str(key)
        return [(key, value)]

    return run
