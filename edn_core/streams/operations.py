"""What operators ask of streams (``manage.py edn_streams``): which streams and groups there are,
how far behind each group is — as a count and as the **age of the oldest entry not processed
yet** — and moving a group back or forward.

A processor's group is measured by the positions in its app's database (the truth of what it
applied; the log's committed offsets follow them after each commit); any other group by the
log's committed offsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from edn_core.streams import processors as registry
from edn_core.streams.conf import streams_settings
from edn_core.streams.feed import feeding_apps, log_for
from edn_core.streams.port import StreamLog
from edn_core.streams.processors import Processor
from edn_core.streams.runtime import DENSE_OFFSETS, forget
from edn_core.streams.runtime_models import ProcessorPositionBase
from edn_core.streams.runtime_store import Store

__all__ = ["GroupLag", "hosted_logs", "lag_of", "reset_group", "standing"]

COUNT_PAGE = 1000
COUNT_CAP = 1_000_000  # a count above it is reported as "at least"


@dataclass(frozen=True)
class GroupLag:
    """A group of a stream: entries after its offsets (``capped``: at least that many) and
    the age of the oldest of them (None: none)."""

    stream: str
    group: str
    processor: str | None
    log: str
    behind: int
    capped: bool
    oldest_age: timedelta | None


def hosted_logs() -> dict[tuple[str, str], StreamLog]:
    """``{(app label, stream): log}`` of every stream the project feeds or processes."""
    found = {
        (app_label, stream): log_for(app_label, stream)
        for app_label in feeding_apps()
        for stream in streams_settings().streams
    }
    for p in registry.processors():
        found.setdefault((p.app_label, p.stream), log_for(p.app_label, p.stream))
    return found


def positions_of(processor: Processor) -> dict[int, int]:
    """The processor's applied offset per partition (from its app's database)."""
    rows = Store(processor).rows(ProcessorPositionBase)
    return dict(rows.values_list("partition", "offset"))


def lag_of(log: StreamLog, stream: str, offsets: dict[int, int]) -> tuple[int, bool, datetime]:
    """Entries after ``offsets`` in every partition, whether the count was capped, and the
    append time of the oldest of them (None: none)."""
    info = log.info(stream)
    behind, capped, oldest = 0, False, None
    for partition in range(info.partitions):
        after = offsets.get(partition, 0)
        first = log.read(stream, partition, after, 1)
        if not first:
            continue
        if oldest is None or first[0].appended_at < oldest:
            oldest = first[0].appended_at
        if log.name in DENSE_OFFSETS:  # offsets count entries (until trimmed)
            behind += max(info.last_offsets.get(partition, 0) - after, 0)
            continue
        while behind < COUNT_CAP:  # Redis: offsets are times; count by reading
            page = log.read(stream, partition, after, COUNT_PAGE)
            behind += len(page)
            if len(page) < COUNT_PAGE:
                break
            after = page[-1].offset
        capped = capped or behind >= COUNT_CAP
    return behind, capped, oldest


def standing(now: datetime | None = None) -> list[GroupLag]:
    """Every group of every hosted stream, and every processor's, with its lag."""
    now = now or timezone.now()
    found = []
    for (_, stream), log in sorted(hosted_logs().items(), key=lambda item: item[0]):
        if stream not in log.streams():
            continue
        own = {p.group: p for p in registry.processors() if p.stream == stream}
        for group in sorted(set(log.groups(stream)) | set(own)):
            processor = own.get(group)
            offsets = positions_of(processor) if processor else log.committed(stream, group)
            behind, capped, oldest = lag_of(log, stream, offsets)
            age = now - oldest if oldest is not None else None
            name = processor.name if processor else None
            found.append(GroupLag(stream, group, name, log.name, behind, capped, age))
    return found


def reset_group(log: StreamLog, stream: str, group: str, target: str) -> dict[int, int]:
    """Move ``group`` of ``stream`` to ``target``: ``earliest``, ``latest``, an offset (every
    partition) or an RFC 3339 time; return the new offsets. A processor's group can only start
    over from the earliest entry (its windows cannot be rewound): ``forget``."""
    processor = next(
        (p for p in registry.processors() if p.stream == stream and p.group == group), None
    )
    if processor is not None:
        if target != "earliest":
            raise ValueError(
                f"{group} is the group of processor {processor.name}: its window state cannot "
                "be rewound to a point; reset it to 'earliest' (it starts over) instead"
            )
        forget(processor, log)
        return {}
    info = log.info(stream)
    ends = info.last_offsets
    offsets = {p: _offset(log, stream, p, target, ends) for p in range(info.partitions)}
    log.reset(stream, group, offsets)
    return offsets


def _offset(log: StreamLog, stream: str, partition: int, target: str, ends: dict) -> int:
    if target == "earliest":
        return 0
    if target == "latest":
        return ends.get(partition, 0)
    if target.isdigit():
        return int(target)
    when = datetime.fromisoformat(target)
    if when.tzinfo is None:
        raise ValueError(f"a time needs its offset (Z or +hh:mm): {target}")
    return log.offset_at(stream, partition, when)
