"""A processor's state in its app's tables: loaded for the partitions it takes, written per
batch in one transaction (positions, window rows, late records, outputs, dead letters).

Positions are written only over the ``version`` loaded (compare and set): a member that lost a
partition without noticing (leases are not fenced), or whose partition a replay changed,
finds its write refused (``StalePartitions``), the whole transaction rolls back, and it
loads the partition again. So two writers never both apply a batch from the same state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import cached_property

from django.db import connections, models, transaction

from edn_core.bulk import _chunks, _cursor, _rows
from edn_core.bus.stores import find_model
from edn_core.eventsourcing.readmodels import upsert_rows
from edn_core.streams import runtime_dead_letters as dead_letters
from edn_core.streams.pipeline import Position, State
from edn_core.streams.processors import Processor
from edn_core.streams.runtime_batches import Batch, Retry, StalePartitions
from edn_core.streams.runtime_models import (
    ProcessorDeadLetterBase,
    ProcessorLateRecordBase,
    ProcessorPositionBase,
    ProcessorWindowBase,
)

__all__ = ["StalePartitions", "Store"]

CHUNK = 400


class Store:
    """The tables of ``processor``'s app, on its alias."""

    def __init__(self, processor: Processor) -> None:
        self.processor, self.name, self.alias = processor, processor.name, processor.alias

    @cached_property
    def models(self) -> dict[type, type[models.Model]]:
        bases = (ProcessorPositionBase, ProcessorWindowBase)
        bases += (ProcessorLateRecordBase, ProcessorDeadLetterBase)
        return {base: find_model(self.processor.app_label, base) for base in bases}

    def rows(self, base: type) -> models.QuerySet:
        """The processor's rows of the table built on ``base``."""
        return self.models[base]._default_manager.using(self.alias).filter(processor=self.name)

    def load(self, partitions: Iterable[int]) -> tuple[State, dict[int, int], dict[int, Retry]]:
        """The state, position versions and waiting retries of ``partitions``."""
        wanted = sorted(partitions)
        model = self.models[ProcessorPositionBase]
        model._default_manager.using(self.alias).bulk_create(
            [model(processor=self.name, partition=p) for p in wanted], ignore_conflicts=True
        )
        fields = ("partition", "offset", "stream_time", "late", "version")
        found = self.rows(ProcessorPositionBase).filter(partition__in=wanted).values_list(*fields)
        positions, versions = {}, {}
        for partition, offset, stream_time, late, version in found:
            positions[partition] = Position(offset, stream_time, late)
            versions[partition] = version
        windows = self.rows(ProcessorWindowBase).filter(partition__in=wanted)
        rows = windows.values_list("partition", "key", "start", "end", "value").iterator(2000)
        state = State.from_rows(positions, rows)
        return state, versions, dead_letters.retries(self, wanted)

    def write(
        self,
        batch: Batch,
        versions: dict[int, int],
        now: datetime,
        within: Callable[[], None] | None = None,
    ) -> dict[int, int]:
        """Commit ``batch`` (``within`` runs last inside the transaction); return the new
        versions of the positions written. ``StalePartitions`` (nothing written) when a
        position is not at the version loaded."""
        with transaction.atomic(using=self.alias):
            written = self._positions(batch, versions, now)
            result = batch.result
            if result is not None:
                self._delete_windows(result.deletes)
                self._upsert_windows(result.upserts)
                self._late(result.late, now)
                if result.outputs:
                    self.processor.write_outputs(result.outputs, self.alias)
            dead_letters.write(self, batch, now)
            if within is not None:
                within()
        return written

    def _positions(self, batch: Batch, versions: dict[int, int], now: datetime) -> dict[int, int]:
        """One ``UPDATE … FROM`` the batch's positions ``… WHERE version = loaded RETURNING``:
        a partition not returned was not at the version loaded (``StalePartitions``)."""
        positions = batch.result.positions if batch.result is not None else {}
        if not positions:
            return {}
        rows = [
            [p, versions.get(p, -1), at.offset, at.stream_time, at.late]
            for p, at in positions.items()
        ]
        meta, connection = self.models[ProcessorPositionBase]._meta, connections[self.alias]
        quote, field = connection.ops.quote_name, meta.get_field
        names = ("partition", "version", "offset", "stream_time", "late")
        column = {name: quote(field(name).column) for name in (*names, "updated_at", "processor")}
        fields, done = [field(name) for name in names], set()
        for chunk in _chunks(connection, rows):
            source, params = _rows(connection, fields, ["p", "loaded", "o", "st", "l"], chunk)
            sql = (
                f"UPDATE {quote(meta.db_table)} SET {column['offset']} = v.o, "
                f"{column['stream_time']} = v.st, {column['late']} = v.l, "
                f"{column['version']} = v.loaded + 1, {column['updated_at']} = %s FROM {source} "
                f"WHERE {column['processor']} = %s AND {column['partition']} = v.p AND "
                f"{column['version']} = v.loaded RETURNING {column['partition']}"
            )
            with _cursor(connection) as cursor:
                cursor.execute(sql, [now, *params, self.name])
                done.update(row[0] for row in cursor.fetchall())
        if stale := [partition for partition in positions if partition not in done]:
            raise StalePartitions(stale)
        return {partition: loaded + 1 for partition, loaded, *_ in rows}

    def _delete_windows(self, keys: list[tuple[int, str, int, int]]) -> None:
        """One statement: ``(partition, key, start, end) IN (SELECT … FROM`` the keys ``)``."""
        if not keys:
            return
        meta, connection = self.models[ProcessorWindowBase]._meta, connections[self.alias]
        quote, names = connection.ops.quote_name, ("partition", "key", "start", "end")
        fields = [meta.get_field(name) for name in names]
        head = (
            f"DELETE FROM {quote(meta.db_table)} WHERE "
            f"{quote(meta.get_field('processor').column)} = %s AND "
            f"({', '.join(quote(f.column) for f in fields)}) IN (SELECT p, k, s, e FROM "
        )
        for chunk in _chunks(connection, keys):
            source, params = _rows(connection, fields, ["p", "k", "s", "e"], chunk)
            with _cursor(connection) as cursor:
                cursor.execute(f"{head}{source})", [self.name, *params])

    def _upsert_windows(self, upserts: dict) -> None:
        """One ``INSERT … ON CONFLICT DO UPDATE`` of the windows' values (``upsert_rows``)."""
        model = self.models[ProcessorWindowBase]
        rows = [
            model(processor=self.name, partition=p, key=k, start=s, end=e, value=acc)
            for (p, k, s, e), acc in upserts.items()
        ]
        upsert_rows(
            model, self.alias, rows, ["processor", "partition", "key", "start", "end"], ["value"]
        )

    def _late(self, late: list, now: datetime) -> None:
        if not late:
            return
        model = self.models[ProcessorLateRecordBase]
        rows = [
            model(
                processor=self.name,
                partition=r.partition,
                offset=r.offset,
                key=r.key,
                time=r.time,
                value=r.value,
                windows=[list(w) for w in r.windows],
                stream_time=r.stream_time,
                recorded_at=now,
            )
            for r in late
        ]
        model._default_manager.using(self.alias).bulk_create(rows, batch_size=CHUNK)
