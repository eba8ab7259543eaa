"""What a batch does, bad entries included: retried with backoff, then dead-lettered.

``compute`` runs the processor's aggregation over a batch. When an entry fails
(``EntryFailed``), the entries before it still count: its partition is held back from that
entry on (the rest of the batch of the other partitions goes on), and the failure is recorded
with its next attempt time; the partition is read again from that entry once the time has
come. At the last attempt the entry is dead-lettered instead: processed with it in ``skip``,
its partition moves past it. ``replay`` runs one dead-lettered entry through the aggregation
with the current state; ``advance`` closes windows by the clock. No I/O: the runtime writes
the ``Batch`` in one transaction.
"""

from __future__ import annotations

import dataclasses
import traceback
from datetime import datetime

from edn_core.streams.pipeline import EntryFailed, State
from edn_core.streams.pipeline_state import PartitionState
from edn_core.streams.port import Entry
from edn_core.streams.processors import Processor
from edn_core.streams.runtime_batches import Batch, Failure, Retry
from edn_core.streams.runtime_models import ProcessorDeadLetterBase as DeadLetter
from edn_core.streams.windows import to_ms

__all__ = ["advance", "compute", "describe", "replay"]

ERROR_MAX = 4000


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


def advance(processor: Processor, state: State, now: datetime) -> Batch | None:
    """Close windows by the clock (``Processor.close_idle_after``): each partition's stream
    time moves up to ``now - close_idle_after``; a batch only when a window closes."""
    limit = to_ms(now - processor.close_idle_after)
    times = {
        partition: limit
        for partition, part in state.partitions.items()
        if part.position.stream_time is not None and part.position.stream_time < limit
    }
    if not times:
        return None
    result = processor.aggregation.advance(state, times)
    return Batch(result) if result.outputs or result.deletes else None


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
