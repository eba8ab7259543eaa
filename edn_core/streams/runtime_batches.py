"""What the runtime commits and reports: a ``Batch`` (one transaction), the ``Failure`` rows
and ``Retry`` waits of bad entries, a ``Round``'s figures; and ``StalePartitions``, the
refusal of a write over partitions someone else changed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from edn_core.streams.pipeline import Result, State
from edn_core.streams.port import Entry
from edn_core.streams.runtime_models import ProcessorDeadLetterBase as DeadLetter

__all__ = ["Batch", "Failure", "Retry", "Round", "StalePartitions"]


class StalePartitions(Exception):
    """Someone else wrote these partitions since they were loaded: load them again."""

    def __init__(self, partitions: Iterable[int]) -> None:
        self.partitions = sorted(partitions)
        super().__init__(f"partitions {self.partitions} changed since they were loaded")


@dataclass(frozen=True, slots=True)
class Retry:
    """A failed entry its partition waits at: tried ``attempts`` times, next at ``next_at``."""

    offset: int
    attempts: int
    next_at: datetime | None


@dataclass(frozen=True, slots=True)
class Failure:
    """A dead-letter row to write: ``status`` retrying (with ``next_at``) or dead."""

    entry: Entry
    status: str
    attempts: int
    error: str
    next_at: datetime | None = None


@dataclass(slots=True)
class Batch:
    """What to commit: the ``result`` (None: nothing processed), the failures to record, the
    retried entries that went through (``(partition, offset)``) and replayed dead letters."""

    result: Result | None
    failures: list[Failure] = field(default_factory=list)
    resolved: list[tuple[int, int]] = field(default_factory=list)
    replayed: bool = False
    applied: int = 0  # entries processed for the first time (not skipped, not failed)

    def changes(self, state: State) -> bool:
        """Whether it writes anything to ``state``'s tables (entries delivered again, already
        applied, change nothing: only the log's offsets are then committed)."""
        result = self.result
        if self.failures or self.resolved or self.replayed:
            return True
        if result is None:
            return False
        moved = any(pos != state.partition(p).position for p, pos in result.positions.items())
        return moved or bool(result.upserts or result.deletes or result.outputs or result.late)

    def note(self, retrying: dict[int, Retry]) -> None:
        """Bring ``retrying`` (partition -> the entry it waits at) to where it leaves them."""
        for failure in self.failures:
            partition, offset = failure.entry.partition, failure.entry.offset
            if failure.status == DeadLetter.RETRYING:
                retrying[partition] = Retry(offset, failure.attempts, failure.next_at)
            elif (retry := retrying.get(partition)) and retry.offset == offset:
                del retrying[partition]
        for partition, offset in self.resolved:
            if (retry := retrying.get(partition)) and retry.offset == offset:
                del retrying[partition]


@dataclass(frozen=True)
class Round:
    """What one round did: the partitions owned, entries read, applied (new), skipped
    (already applied), failed (to retry or dead-lettered now), outputs and late records
    written, and each owned partition's position afterwards."""

    owned: frozenset[int] = frozenset()
    consumed: int = 0
    applied: int = 0
    skipped: int = 0
    failed: int = 0
    outputs: int = 0
    late: int = 0
    positions: dict[int, int] = field(default_factory=dict)

    @classmethod
    def of(cls, owned, consumed: int, batch: Batch | None, positions: dict[int, int]) -> Round:
        """The round that read ``consumed`` entries and committed ``batch`` (None: nothing)."""
        if batch is None:
            return cls(frozenset(owned), consumed, positions=positions)
        result = batch.result
        return cls(
            frozenset(owned),
            consumed,
            applied=batch.applied,
            skipped=result.skipped if result else 0,
            failed=len(batch.failures),
            outputs=len(result.outputs) if result else 0,
            late=len(result.late) if result else 0,
            positions=positions,
        )
