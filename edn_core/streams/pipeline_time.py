"""Event time extractors: functions of a stream entry giving its event time in epoch ms.

A pipeline takes one as ``time``; any function ``Entry -> int`` will do. The time is read from
the entry (not from the value after map), so every record made of one entry shares it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from edn_core.streams.port import Entry
from edn_core.streams.windows_base import to_ms

__all__ = ["appended_time", "header_time", "value_time"]


def appended_time(entry: Entry) -> int:
    """The log's append time of the entry (ms)."""
    return to_ms(entry.appended_at)


def _parse_time(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return to_ms(datetime.fromisoformat(value))
    if isinstance(value, datetime):
        return to_ms(value)
    raise ValueError(f"not an event time (epoch ms or RFC 3339 with an offset): {value!r}")


def value_time(field: str) -> Callable[[Entry], int]:
    """Event time from the entry's value ``field``: epoch ms, or RFC 3339 with an offset."""
    return lambda entry: _parse_time(entry.value[field])


def header_time(name: str) -> Callable[[Entry], int]:
    """Event time from the entry's header ``name`` (RFC 3339 with an offset)."""
    return lambda entry: _parse_time(entry.headers[name])
