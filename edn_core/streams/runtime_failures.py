"""What a batch does, bad entries included: retried with backoff, then dead-lettered.

``compute`` runs the processor's aggregation over a batch. When an entry fails
(``EntryFailed``), the entries before it still count: its partition is held back from that
entry on (the rest of the batch of the other partitions goes on), and the failure is recorded
with its next attempt time; the partition is read again from that entry once the time has
come. At the last attempt the entry is dead-lettered instead: processed with it in ``skip``,
its partition moves past it. ``replay`` runs one dead-lettered entry through the aggregation
with the current state. All pure: the runtime writes the ``Batch`` in one transaction.
"""

from __future__ import annotations

import dataclasses
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from edn_core.streams.pipeline import EntryFailed, Result, State
from edn_core.streams.pipeline_state import PartitionState
from edn_core.streams.port import Entry
from edn_core.streams.processors import Processor
from edn_core.streams.runtime_models import ProcessorDeadLetterBase as DeadLetter

__all__ = ["Batch", "Failure", "Retry", "StalePartitions", "compute", "describe", "replay"]

ERROR_MAX = 4000


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


def describe(error: BaseException) -> str:
    """The error as an operator reads it: its type and message, then the traceback."""
    text = "".join(traceback.format_exception(error)).strip()
    return text[-ERROR_MAX:] if len(text) > ERROR_MAX else text


def compute(
    processor: Processor,
    state: State,
    entries: list[Entry],
    retrying: dict[int, Retry],
    now: datetime,
) -> Batch:
    """Process ``entries`` from ``state``; a failing entry holds its partition back (to be
    retried) or, at its last attempt, is skipped and dead-lettered."""
    skip: set[tuple[int, int]] = set()
    held: dict[int, int] = {}  # partition -> the offset it stops before
    failures: list[Failure] = []
    batch = entries
    while True:
        try:
            result = processor.aggregation.process(state, batch, skip=skip)
            break
        except EntryFailed as failed:
            entry = failed.entry
            known = retrying.get(entry.partition)
            attempts = 1 + (known.attempts if known and known.offset == entry.offset else 0)
            error = describe(failed.error)
            if attempts >= processor.attempts:
                skip.add((entry.partition, entry.offset))
                failures.append(Failure(entry, DeadLetter.DEAD, attempts, error))
            else:
                held[entry.partition] = entry.offset
                next_at = now + processor.delay(attempts)
                failures.append(Failure(entry, DeadLetter.RETRYING, attempts, error, next_at))
                batch = [e for e in entries if e.offset < held.get(e.partition, e.offset + 1)]
    positions = result.positions
    resolved = [
        (p, retry.offset)
        for p, retry in retrying.items()
        if p in positions and positions[p].offset >= retry.offset and (p, retry.offset) not in skip
    ]
    applied = len(batch) - result.skipped - len(skip)
    return Batch(result if batch else None, failures, resolved, applied=applied)


def replay(processor: Processor, state: State, entry: Entry, attempts: int) -> Batch:
    """Run the dead-lettered ``entry`` again with ``state`` (its partition's): it joins the
    windows still open, or goes to the late records; the position stays where it is. A
    failure leaves it dead, its ``attempts`` one more, with the new error."""
    current = state.partition(entry.partition)
    position = current.position
    before = dataclasses.replace(position, offset=min(position.offset, entry.offset - 1))
    view = State({entry.partition: PartitionState(before, current.windows)})
    try:
        result = processor.aggregation.process(view, [entry])
    except EntryFailed as failed:
        error = describe(failed.error)
        return Batch(None, [Failure(entry, DeadLetter.DEAD, attempts + 1, error)])
    moved = result.positions[entry.partition]
    kept = dataclasses.replace(moved, offset=position.offset)
    result = dataclasses.replace(result, positions={entry.partition: kept})
    return Batch(result, resolved=[(entry.partition, entry.offset)], replayed=True, applied=1)
