"""Running stream processors (``edn_core.streams.processors``) with exactly-once effect.

``run(processor, log, stop=event)`` runs rounds until ``stop`` is set; each round
(``Runner.run_once``, in ``runtime_runner``):

1. takes partitions: leases of the group, a fair share among its live members
   (``runtime_members``; PostgreSQL), and loads the state of the partitions it gained from the
   app's tables (positions, open windows, retries waiting; ``runtime_store``);
2. replays the dead letters an operator asked for (``runtime_replay``);
3. reads a batch of its partitions (``log.consume``), leaving out a partition that waits to
   retry a failed entry, and processes it: ``Aggregation.process``, with failing entries
   retried with backoff, then dead-lettered (``runtime_failures``);
4. writes, in **one transaction on the app's alias**, the positions, window rows, late
   records, outputs (``Processor.write``) and dead letters; then commits the group's offsets
   in the log (the database log on the same alias: inside that transaction).

Exactly once: the positions in the database are the truth, written only over the version
loaded. A crash before the commit loses nothing (the batch is read again); after it, the log
delivers entries again that the positions cover, and processing skips them. A member that
lost a partition unnoticed finds its write refused and loads the partition again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import connections, transaction
from django.utils import timezone

from edn_core.bus.stores import find_model
from edn_core.streams.leases import PartitionLeases
from edn_core.streams.port import StreamLog
from edn_core.streams.processors import Processor
from edn_core.streams.runtime_batches import Round
from edn_core.streams.runtime_members import leases_for
from edn_core.streams.runtime_models import WindowResultBase
from edn_core.streams.runtime_replay import replay_dead_letter
from edn_core.streams.runtime_runner import Runner, default_consumer

__all__ = [
    "Progress",
    "Round",
    "Runner",
    "default_consumer",
    "forget",
    "replay_dead_letter",
    "run",
]

logger = logging.getLogger(__name__)
DENSE_OFFSETS = {"database", "nats"}  # logs whose offsets count entries
ERROR_WAIT_MAX = 30.0


@dataclass(frozen=True)
class Progress:
    """After each round: entries applied since ``run`` started, the entries still to read in
    the owned partitions (None when the log's offsets are not counts: Redis), the round."""

    done: int
    lag: int | None
    round: Round


def lag(log: StreamLog, processor: Processor, positions: dict[int, int]) -> int | None:
    """How many entries of the partitions in ``positions`` lie after them (dense logs)."""
    if log.name not in DENSE_OFFSETS or not positions:
        return None if log.name not in DENSE_OFFSETS else 0
    ends = log.info(processor.stream).last_offsets
    return sum(max(ends.get(p, 0) - offset, 0) for p, offset in positions.items())


def run(
    processor: Processor,
    log: StreamLog,
    *,
    stop: threading.Event | None = None,
    progress: Callable[[Progress], None] | None = None,
    until: Callable[[Round], bool] | None = None,
    consumer: str | None = None,
    leases: PartitionLeases | None = None,
    clock: Callable[[], datetime] = timezone.now,
    poll: float = 1.0,
    errors: str = "retry",
) -> int:
    """Run ``processor`` until ``stop`` is set or ``until(round)`` is true; return how many
    entries it applied. A round that read nothing waits ``poll`` seconds (or until stopped).
    ``progress(Progress)`` after each round. On an error (a database or broker outage):
    ``errors="retry"`` logs it, gives the partitions back and tries again after a growing
    wait (the state is loaded again); ``"raise"`` gives them back and raises."""
    stop = stop or threading.Event()
    runner = Runner(processor, log, consumer=consumer, leases=leases, clock=clock)
    done, failures = 0, 0
    try:
        while not stop.is_set():
            try:
                current = runner.run_once()
                behind = lag(log, processor, current.positions) if progress else None
            except Exception:
                if errors == "raise":
                    raise
                failures += 1
                wait = min(2.0 ** (failures - 1), ERROR_WAIT_MAX)
                logger.exception("stream processor %s failed; again in %.0fs", processor.name, wait)
                _start_over(runner)
                stop.wait(wait)
                continue
            failures = 0
            done += current.applied
            if progress is not None:
                progress(Progress(done, behind, current))
            if until is not None and until(current):
                break
            if not current.consumed:
                stop.wait(poll)
    finally:
        runner.close()
    return done


def _start_over(runner: Runner) -> None:
    """After an error: give everything back, forget the state, drop the connection."""
    try:
        runner.close()
    except Exception:
        logger.exception("releasing the partitions of %s failed", runner.processor.name)
    runner._forget(list(runner.state.partitions))
    connections[runner.processor.alias].close()


def forget(processor: Processor, log: StreamLog) -> None:
    """Start ``processor`` over: delete its state, late records, dead letters and default
    results (and what ``clear`` clears) in one transaction, then its group in the log, so it
    processes the stream again from its first kept entry. Its members must be stopped first
    (``RuntimeError`` when one holds a partition)."""
    with leases_for(processor, log) as leases:
        if leases.acquire() != set(leases.partitions):
            raise RuntimeError(f"stop the members of {processor.name} before it starts over")
        store = Runner(processor, None).store
        with transaction.atomic(using=processor.alias):
            for base in store.models:
                store.rows(base).delete()
            results = find_model(processor.app_label, WindowResultBase)._default_manager
            results.using(processor.alias).filter(processor=processor.name).delete()
            if processor.clear is not None:
                processor.clear(processor.alias)
        log.delete_group(processor.stream, processor.group)
