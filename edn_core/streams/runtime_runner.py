"""The runner of a stream processor: rounds of one batch each (see ``runtime`` for the
whole picture). Pause points (``testing_hooks``) mark where a crash test stops a runner:
``streams.consumed.<name>`` (a batch read, nothing written), ``streams.writing.<name>``
(everything written, the transaction still open), ``streams.committed.<name>`` (committed,
the log's offsets not yet).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from edn_core import testing_hooks
from edn_core.streams.leases import PartitionLeases
from edn_core.streams.pipeline import State
from edn_core.streams.port import Entry, StreamLog
from edn_core.streams.processors import Processor
from edn_core.streams.runtime_batches import Batch, Retry, Round
from edn_core.streams.runtime_failures import advance, compute, replay
from edn_core.streams.runtime_members import Members, leases_for
from edn_core.streams.runtime_models import ProcessorDeadLetterBase as DeadLetter
from edn_core.streams.runtime_store import StalePartitions, Store

__all__ = ["Runner", "default_consumer"]

logger = logging.getLogger(__name__)
HOUSEKEEPING = 10  # rounds of a backlog between two acquires (a member joined, or died)


def default_consumer() -> str:
    """A consumer name unique to this process: host, pid and a random tag."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Runner:
    """Runs ``processor`` over ``log`` as the member ``consumer`` of its group. ``leases``:
    who owns which partition (default: ``PartitionLeases`` on the app's alias); ``clock``:
    the time of retries (tests drive it). Use from one thread."""

    def __init__(
        self,
        processor: Processor,
        log: StreamLog | None,
        *,
        consumer: str | None = None,
        leases: PartitionLeases | None = None,
        clock: Callable[[], datetime] = timezone.now,
    ) -> None:
        self.processor, self.log, self.clock = processor, log, clock
        self.consumer = consumer or default_consumer()
        self.store = Store(processor)
        self._leases, self._members = leases, None
        self.state, self.versions = State(), {}
        self.retrying: dict[int, Retry] = {}
        self.owned: set[int] = set()
        self._busy = 0  # rounds in a row that read a full batch
        self.inside = getattr(log, "name", "") == "database" and log.alias == processor.alias

    @property
    def members(self) -> Members:
        if self._members is None:
            self._leases = self._leases or leases_for(self.processor, self.log)
            self._members = Members(self._leases)
        return self._members

    def acquire(self) -> set[int]:
        """Take partitions (the share of this member); load the state of new ones."""
        held = self.members.acquire()
        for lost in self.owned - held:
            self._forget([lost])
        gained = held - self.owned
        if gained:
            state, versions, retries = self.store.load(gained)
            self.state.partitions.update(state.partitions)
            self.versions.update(versions)
            self.retrying.update(retries)
            self.owned |= gained
        return set(self.owned)

    def run_once(self) -> Round:
        """One round: acquire and replays (in a backlog, every ``HOUSEKEEPING`` rounds only),
        then one batch."""
        p = self.processor
        if self._busy % HOUSEKEEPING == 0:
            self.acquire()
            self._replays()
        now = self.clock()
        ready = sorted(
            partition
            for partition in self.owned
            if (retry := self.retrying.get(partition)) is None
            or retry.next_at is None
            or retry.next_at <= now
        )
        entries = self.log.consume(p.stream, p.group, self.consumer, ready, p.batch_size)
        self._busy = self._busy + 1 if len(entries) >= p.batch_size else 0
        if not entries:
            if p.close_idle_after is not None and (batch := advance(p, self.state, now)):
                self._commit(batch, now)
            return Round.of(self.owned, 0, None, self._offsets())
        testing_hooks.pause_point("streams.consumed", p.name)
        batch = compute(p, self.state, entries, self.retrying, now)
        done = self._commit(batch, now)
        return Round.of(self.owned, len(entries), batch if done else None, self._offsets())

    def close(self) -> None:
        """Give the partitions back."""
        if self._members is not None:
            self._members.release()
        elif self._leases is not None:
            self._leases.release()
        self.owned.clear()

    def _offsets(self) -> dict[int, int]:
        return {p: self.state.partition(p).position.offset for p in sorted(self.owned)}

    def _forget(self, partitions) -> None:
        self._busy = 0  # acquire next round: load them again if still held
        for partition in partitions:
            self.state.partitions.pop(partition, None)
            self.versions.pop(partition, None)
            self.retrying.pop(partition, None)
            self.owned.discard(partition)

    def _commit(self, batch: Batch, now: datetime) -> bool:
        """Write ``batch``, then commit the log's offsets and apply it to the state. False
        when a partition changed under this member (it is loaded again next round)."""
        p, result = self.processor, batch.result
        offsets = {} if result is None or batch.replayed else result.positions
        offsets = {partition: position.offset for partition, position in offsets.items()}

        def within() -> None:
            if self.inside and offsets:
                self.log.commit(p.stream, p.group, offsets)
            testing_hooks.pause_point("streams.writing", p.name)

        written = batch.changes(self.state)
        if written:
            try:
                self.versions.update(self.store.write(batch, self.versions, now, within))
            except StalePartitions as stale:
                logger.warning("%s: %s; loading them again", p.name, stale)
                self._forget(stale.partitions)
                return False
            testing_hooks.pause_point("streams.committed", p.name)
        if offsets and not (self.inside and written):
            self.log.commit(p.stream, p.group, offsets)
        if result is not None:
            self.state.apply(result)
        batch.note(self.retrying)
        return True

    def _replays(self) -> None:
        """Replay the dead letters of owned partitions that an operator asked for."""
        asked = self.store.rows(DeadLetter).filter(status=DeadLetter.REPLAY)
        for row in asked.filter(partition__in=self.owned).order_by("partition", "offset"):
            self.replay(row)

    def replay(self, row) -> str:
        """Run the dead letter ``row`` (of an owned partition) again: ``"replayed"``,
        ``"failed"`` (still failing: dead again) or ``"stale"`` (someone else did)."""
        entry = Entry(
            row.stream, row.partition, row.offset, row.key, row.value, row.headers, row.appended_at
        )
        batch = replay(self.processor, self.state, entry, row.attempts)
        if not self._commit(batch, self.clock()):
            return "stale"
        return "replayed" if batch.result is not None else "failed"
