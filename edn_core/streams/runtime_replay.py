"""Replaying a dead letter (the admin's action): its entry runs again through the processor
with the current state, once the cause is fixed.

Why not append the entry to the stream again: a stream has many independent groups, and every
other one would count it a second time; and a processor whose event time is the append time
would see it at another time. A replay changes this processor's state only.

The partition's state must not change under its owner, so the replay is done by whoever holds
the partition: the row is marked ``replay``; if no member of the group holds the partition,
this process takes it for the replay and does it at once; else the owner does it at the start
of its next round. The row's status is checked in the replay's transaction, so a replay is
done once, and the position's version (``runtime_store``) keeps a runner that did not see it
from overwriting it.
"""

from __future__ import annotations

from django.utils import timezone

from edn_core.bus.stores import find_model
from edn_core.routers import alias_for
from edn_core.streams import processors
from edn_core.streams.leases import PartitionLeases
from edn_core.streams.runtime_models import ProcessorDeadLetterBase as DeadLetter
from edn_core.streams.runtime_runner import Runner

__all__ = ["QUEUED", "replay_dead_letter"]

QUEUED = "queued"
REPLAYABLE = (DeadLetter.DEAD, DeadLetter.REPLAY)


def replay_dead_letter(app_label: str, pk: int) -> str:
    """Replay the dead letter ``pk`` of ``app_label``'s table: ``"replayed"`` (it went
    through: joined its open windows or went to the late records), ``"failed"`` (it failed
    again: dead, with the new error), ``"queued"`` (the partition's owner will replay it),
    or its status when there is nothing to replay (``"retrying"``: its partition waits for
    it anyway; ``"resolved"``)."""
    rows = find_model(app_label, DeadLetter)._default_manager.using(alias_for(app_label))
    processor = processors.get(rows.get(pk=pk).processor)
    asked = rows.filter(pk=pk, status__in=REPLAYABLE).update(
        status=DeadLetter.REPLAY, updated_at=timezone.now()
    )
    row = rows.get(pk=pk)
    if not asked:
        return row.status
    leases = PartitionLeases(processor.alias, processor.stream, processor.group, [row.partition])
    with leases:
        if row.partition not in leases.acquire():
            return QUEUED
        runner = Runner(processor, None, leases=leases)
        runner.state, runner.versions, runner.retrying = runner.store.load([row.partition])
        runner.owned = {row.partition}
        outcome = runner.replay(row)
    return rows.get(pk=pk).status if outcome == "stale" else outcome
