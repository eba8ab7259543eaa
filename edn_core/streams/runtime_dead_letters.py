"""A processor's dead letters in its app's table: the retries its partitions wait at, and the
rows a batch writes (failures, retried entries that went through, replays done).

One row per ``(processor, partition, offset)``: ``retrying`` (the partition waits at it
until ``next_attempt_at``), ``dead`` (skipped; kept whole, with its stream, offset and
error), ``replay`` (an operator asked for it again), ``resolved``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from edn_core.streams.runtime_batches import Batch, Failure, Retry, StalePartitions
from edn_core.streams.runtime_models import ProcessorDeadLetterBase as DeadLetter

__all__ = ["retries", "write"]

UPDATED = [
    "stream", "key", "value", "headers", "appended_at",
    "status", "attempts", "error", "next_attempt_at", "updated_at",
]  # fmt: skip


def retries(store, partitions: Iterable[int]) -> dict[int, Retry]:
    """The entry each of ``partitions`` waits at (its first one still retrying), if any."""
    waiting = store.rows(DeadLetter).filter(
        partition__in=list(partitions), status=DeadLetter.RETRYING
    )
    found: dict[int, Retry] = {}
    fields = ("partition", "offset", "attempts", "next_attempt_at")
    for partition, offset, attempts, next_at in waiting.order_by("-offset").values_list(*fields):
        found[partition] = Retry(offset, attempts, next_at)
    return found


def write(store, batch: Batch, now: datetime) -> None:
    """Record ``batch``'s failures and resolutions (inside its transaction). A replay whose
    row is no longer asked for was done by someone else: ``StalePartitions`` rolls it back."""
    model = store.models[DeadLetter]
    if batch.failures:
        model._default_manager.using(store.alias).bulk_create(
            [_row(store, model, failure, now) for failure in batch.failures],
            update_conflicts=True,
            unique_fields=["processor", "partition", "offset"],
            update_fields=UPDATED,
        )
    waiting = [model.REPLAY] if batch.replayed else [model.RETRYING, model.REPLAY]
    rows = store.rows(DeadLetter).filter(status__in=waiting)
    for partition, offset in batch.resolved:
        done = rows.filter(partition=partition, offset=offset).update(
            status=model.RESOLVED, next_attempt_at=None, updated_at=now
        )
        if batch.replayed and not done:
            raise StalePartitions([partition])


def _row(store, model, failure: Failure, now: datetime):
    entry = failure.entry
    return model(
        processor=store.name,
        stream=entry.stream,
        partition=entry.partition,
        offset=entry.offset,
        key=entry.key,
        value=entry.value,
        headers=entry.headers,
        appended_at=entry.appended_at,
        status=failure.status,
        attempts=failure.attempts,
        error=failure.error,
        next_attempt_at=failure.next_at,
        created_at=now,
        updated_at=now,
    )
