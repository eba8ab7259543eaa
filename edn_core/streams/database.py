"""The database stream log: streams in the tables of the service app that hosts them, on its
alias (SQLite in development, PostgreSQL in production), through Django's ORM.

Offsets: each partition has a row in the app's ``StreamDefinitionBase`` table holding the last
offset handed out. An append moves that counter on with an ``UPDATE`` per partition it writes
to, in partition order, then inserts its entries in one bulk statement. The ``UPDATE`` locks the
partition's row (PostgreSQL: a row lock; SQLite: the database's write lock) until the
transaction ends, so appenders to one partition take turns: offsets are dense, increasing, and
become visible in offset order (a reader never sees offset 7 committed while 6 is still to
come). Taking the locks in partition order keeps concurrent multi-partition appends free of
deadlocks. Append times never go back within a partition (the counter row keeps the last one).
An entry whose id the stream holds is not appended again (``database_append``).

Transactions: ``append``, ``commit`` and ``reset`` run in the caller's transaction on the alias
when one is open (an inbox row, processor state and offsets commit together), else in their
own. Inside a caller's transaction the partitions appended to stay locked until it ends: keep
such transactions short, and append once in each (two appends taking partitions in opposite
orders can deadlock with another transaction's). Consumer groups: ``database_groups``.
Streams are never deleted (the partition counts of committed streams are cached). Thread-safe:
each thread works on its own Django connection.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from functools import cached_property

from django.db import models, transaction
from django.utils import timezone

from edn_core.bus.stores import find_model
from edn_core.routers import alias_for
from edn_core.streams.database_append import firsts, heads, held, move_on, new_rows
from edn_core.streams.database_groups import DatabaseGroups
from edn_core.streams.models import StreamDefinitionBase, StreamEntryBase, StreamGroupOffsetBase
from edn_core.streams.port import (
    Entry,
    NewEntry,
    StreamInfo,
    StreamLog,
    UnknownStream,
    partition_of,
)

__all__ = ["DatabaseLog"]

FIELDS = ("partition", "offset", "key", "value", "headers", "appended_at", "entry_id")


class DatabaseLog(DatabaseGroups, StreamLog):
    """Streams in ``app_label``'s stream tables, on ``alias`` (default: the app's own)."""

    name = "database"

    def __init__(self, app_label: str, alias: str | None = None) -> None:
        self.app_label, self.alias = app_label, alias or alias_for(app_label)
        self._shapes: dict[str, int] = {}
        self._turns = itertools.count()

    @cached_property
    def _models(self) -> dict[type, type[models.Model]]:
        bases = (StreamDefinitionBase, StreamEntryBase, StreamGroupOffsetBase)
        return {base: find_model(self.app_label, base) for base in bases}

    def _rows(self, base: type) -> models.QuerySet:
        return self._models[base]._default_manager.using(self.alias)

    @property
    def definitions(self) -> models.QuerySet:
        return self._rows(StreamDefinitionBase)

    @property
    def entries(self) -> models.QuerySet:
        return self._rows(StreamEntryBase)

    @property
    def offsets(self) -> models.QuerySet:
        return self._rows(StreamGroupOffsetBase)

    def _partitions(self, stream: str) -> int:
        if stream not in self._shapes:
            shape = self.definitions.filter(stream=stream, partition=0)
            count = shape.values_list("partitions", flat=True).first()
            if count is None:
                raise UnknownStream(stream)
            self._remember(stream, count)
            return count
        return self._shapes[stream]

    def _remember(self, stream: str, partitions: int) -> None:
        """Cache a stream's shape once what read or made it commits (not a rolled-back one)."""
        transaction.on_commit(lambda: self._shapes.update({stream: partitions}), self.alias)

    def ensure(self, stream: str, partitions: int) -> None:
        if partitions < 1:
            raise ValueError(f"a stream needs at least one partition, not {partitions}")
        if stream in self._shapes:  # known: it exists with that many partitions
            if self._shapes[stream] != partitions:
                raise ValueError(f"stream {stream} has {self._shapes[stream]} partitions")
            return
        model = self.definitions.model
        with transaction.atomic(using=self.alias):
            # partition 0 first: of concurrent creators with other counts, one wins, the
            # others see its count (PostgreSQL: ON CONFLICT waits for the winner's commit)
            self.definitions.bulk_create(
                [model(stream=stream, partition=0, partitions=partitions)], ignore_conflicts=True
            )
            first = self.definitions.select_for_update().get(stream=stream, partition=0)
            if first.partitions != partitions:
                raise ValueError(
                    f"stream {stream} has {first.partitions} partitions, not {partitions}"
                )
            rest = [
                model(stream=stream, partition=p, partitions=partitions)
                for p in range(1, partitions)
            ]
            self.definitions.bulk_create(rest, ignore_conflicts=True)
        self._remember(stream, partitions)

    def info(self, stream: str) -> StreamInfo:
        partitions = self._partitions(stream)
        rows = self.definitions.filter(stream=stream)
        ends = dict(rows.values_list("partition", "last_offset"))
        counted = self.entries.filter(stream=stream).order_by().values("partition")
        lengths = dict(counted.annotate(n=models.Count("id")).values_list("partition", "n"))
        return StreamInfo(
            stream,
            partitions,
            {p: ends.get(p, 0) for p in range(partitions)},
            {p: lengths.get(p, 0) for p in range(partitions)},
        )

    def streams(self) -> list[str]:
        names = self.definitions.filter(partition=0).order_by("stream")
        return list(names.values_list("stream", flat=True))

    # -- appending and reading ----------------------------------------------------------------

    def append(self, stream: str, entries: Sequence[NewEntry]) -> list[tuple[int, int]]:
        partitions = self._partitions(stream)
        if not entries:
            return []
        targets = [partition_of(entry.key, partitions) for entry in entries]
        first = firsts(entries)  # an id repeated in this call: the first one's position
        counts = Counter(t for i, t in enumerate(targets) if first[i] == i)
        mine, now = self.definitions.filter(stream=stream), timezone.now()
        with transaction.atomic(using=self.alias, savepoint=False):
            move_on(mine, counts, now)  # takes the partitions' locks, in order
            known = held(self.entries, stream, entries, first)
            if known:  # appended before: hand their offsets back (we still hold the locks)
                again = Counter(targets[i] for i in known)
                move_on(mine, {p: -n for p, n in again.items()}, now)
                counts -= again
            ends = heads(mine, counts)
            if len(ends) == len(counts):
                positions, rows = new_rows(
                    self.entries.model, stream, entries, targets, (first, known), counts, ends
                )
                self.entries.bulk_create(rows, batch_size=500)
            elif ends:  # part of it is gone: the counters moved roll back with the error
                self._shapes.pop(stream, None)
                raise UnknownStream(stream)
        if len(ends) != len(counts):  # not there (its creation rolled back): nothing written,
            self._shapes.pop(stream, None)  # and the caller's transaction stays usable
            raise UnknownStream(stream)
        return positions

    def read(self, stream: str, partition: int, after: int, limit: int) -> list[Entry]:
        if limit <= 0:
            return []
        rows = self.entries.filter(stream=stream, partition=partition, offset__gt=after)
        return [Entry(stream, *row) for row in rows.order_by("offset").values_list(*FIELDS)[:limit]]

    def offset_at(self, stream: str, partition: int, when: datetime) -> int:
        rows = self.entries.filter(stream=stream, partition=partition, appended_at__lt=when)
        last = rows.order_by("-appended_at", "-offset").values_list("offset", flat=True)
        return last.first() or 0

    def trim(self, stream: str, *, before: datetime) -> int:
        removed = 0
        for partition in range(self._partitions(stream)):
            old = self.entries.filter(stream=stream, partition=partition, appended_at__lt=before)
            removed += old.delete()[0]
        return removed
