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

from edn_core.bus.stores import find_model
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
        positions = batch.result.positions if batch.result is not None else {}
        rows, stale, written = self.rows(ProcessorPositionBase), [], {}
        for partition, position in positions.items():
            version = versions.get(partition, -1)
            changed = rows.filter(partition=partition, version=version).update(
                offset=position.offset,
                stream_time=position.stream_time,
                late=position.late,
                version=version + 1,
                updated_at=now,
            )
            if changed != 1:
                stale.append(partition)
            written[partition] = version + 1
        if stale:
            raise StalePartitions(stale)
        return written

    def _delete_windows(self, keys: list[tuple[int, str, int, int]]) -> None:
        """One statement per chunk: ``(partition, key, start, end) IN (VALUES ...)``."""
        if not keys:
            return
        meta = self.models[ProcessorWindowBase]._meta
        quote = connections[self.alias].ops.quote_name
        columns = [quote(meta.get_field(f).column) for f in ("partition", "key", "start", "end")]
        head = (
            f"DELETE FROM {quote(meta.db_table)} WHERE "
            f"{quote(meta.get_field('processor').column)} = %s AND ({', '.join(columns)}) IN "
        )
        with connections[self.alias].cursor() as cursor:
            for at in range(0, len(keys), CHUNK):
                chunk = keys[at : at + CHUNK]
                values = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
                params = [self.name, *(value for key in chunk for value in key)]
                cursor.execute(f"{head}(VALUES {values})", params)

    def _upsert_windows(self, upserts: dict) -> None:
        if not upserts:
            return
        model = self.models[ProcessorWindowBase]
        model._default_manager.using(self.alias).bulk_create(
            [
                model(processor=self.name, partition=p, key=k, start=s, end=e, value=acc)
                for (p, k, s, e), acc in upserts.items()
            ],
            update_conflicts=True,
            unique_fields=["processor", "partition", "key", "start", "end"],
            update_fields=["value"],
            batch_size=CHUNK,
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
