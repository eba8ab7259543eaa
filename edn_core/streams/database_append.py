"""Helpers of the database log's ``append`` (``edn_core.streams.database``).

Offsets: ``move_on`` moves the counters of the partitions appended to, one ``UPDATE`` per
partition in partition order; the first ``UPDATE`` of a partition locks its row until the
transaction ends.

Ids: an append with ids first works out, without the database, which of its entries repeat an
earlier entry of the same call (``firsts``); then, once it holds the locks of its partitions,
which ids the stream already holds (``held``): a concurrent append of the same id to the same
partition has committed by then (it held the lock before), so the read sees it. The unique
``(stream, entry_id)`` constraint backs this up (an id appended under two keys at once).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from django.db import models
from django.db.models.functions import Coalesce, Greatest

from edn_core.streams.port import NewEntry

__all__ = ["firsts", "heads", "held", "move_on", "new_rows"]

CHUNK = 500  # ids per query (SQLite's parameter limit)


def firsts(entries: Sequence[NewEntry]) -> list[int]:
    """For each entry, the index of the first entry of ``entries`` with its id (itself when
    it has none or is the first)."""
    seen: dict[str, int] = {}
    return [i if e.id is None else seen.setdefault(e.id, i) for i, e in enumerate(entries)]


def held(
    rows: models.QuerySet, stream: str, entries: Sequence[NewEntry], first: list[int]
) -> dict[int, tuple[int, int]]:
    """``{index: (partition, offset)}`` of the entries (firsts of their id) whose id the
    stream already holds, with the position of the entry holding it."""
    index = {entries[i].id: i for i in sorted(set(first)) if entries[i].id is not None}
    if not index:
        return {}
    ids, found = list(index), {}
    for start in range(0, len(ids), CHUNK):
        chunk = rows.filter(stream=stream, entry_id__in=ids[start : start + CHUNK]).order_by()
        for entry_id, partition, offset in chunk.values_list("entry_id", "partition", "offset"):
            found[index[entry_id]] = (partition, offset)
    return found


def move_on(definitions: models.QuerySet, counts: Mapping[int, int], now: datetime) -> None:
    """Move the counters of the partitions in ``counts`` (their rows in ``definitions``, the
    stream's) on by their counts, locking them one after another in partition order; the
    partitions' last append time becomes ``now`` unless it is later already."""
    for partition in sorted(counts):
        definitions.filter(partition=partition).update(
            last_offset=models.F("last_offset") + counts[partition],
            last_appended_at=Greatest(
                Coalesce("last_appended_at", models.Value(now)), models.Value(now)
            ),
        )


def heads(definitions: models.QuerySet, counts: Mapping[int, int]) -> dict[int, tuple]:
    """``{partition: (last offset, last append time)}`` of the partitions in ``counts`` (those
    of them that exist)."""
    rows = definitions.filter(partition__in=counts)
    fields = ("partition", "last_offset", "last_appended_at")
    return {p: (last, at) for p, last, at in rows.values_list(*fields)}


def new_rows(model, stream: str, entries, targets, repeats, counts, ends) -> tuple[list, list]:
    """Each entry's ``(partition, offset)`` and the rows of the new ones: ``repeats`` is
    ``(firsts, held)``; an entry repeating an earlier one of the call, or one the stream holds,
    gets that one's position and no row. ``ends``: ``heads`` after the counters moved."""
    first, known = repeats
    taken = {p: ends[p][0] - counts[p] for p in counts}
    positions, rows = [], []
    for i, (entry, partition) in enumerate(zip(entries, targets, strict=True)):
        if i in known or first[i] != i:
            positions.append(known[i] if i in known else positions[first[i]])
            continue
        taken[partition] += 1
        positions.append((partition, taken[partition]))
        rows.append(
            model(
                stream=stream,
                partition=partition,
                offset=taken[partition],
                key=entry.key,
                value=dict(entry.value),
                headers=dict(entry.headers),
                appended_at=ends[partition][1],
                entry_id=entry.id,
            )
        )
    return positions, rows
