"""The projection runner: read the store in batches below the oldest running transaction
(decision 0068) and apply each batch with the checkpoint that follows it, in one transaction.

A batch that fails rolls back whole (rows and checkpoint): nothing is lost or applied twice;
the error is kept on the projection's state row and the next run starts at the same event.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import IntegrityError, models
from django.utils import timezone

from edn_core.bus.outbox import wake_after_commit
from edn_core.bus.stores import find_model
from edn_core.eventsourcing.codec import StoredEvent
from edn_core.eventsourcing.models import ProjectionStateBase
from edn_core.eventsourcing.reading import events_after, next_batch, read_events, stored_rows

__all__ = [
    "apply_events",
    "catch_up",
    "ensure_live",
    "events_after",
    "read_events",
    "run_batch",
    "states",
    "stored_rows",
    "wake_after_commit",
]

AfterBatch = Callable[[ProjectionStateBase, int], object]


def states(projection) -> models.QuerySet:
    """The state rows (one per generation) of ``projection`` in its app's alias."""
    model = find_model(projection.store.app_label, ProjectionStateBase)
    return model._default_manager.using(projection.store.alias).filter(name=projection.name)


def ensure_live(projection) -> ProjectionStateBase:
    """The live generation's state row; a projection never run gets generation 1, live."""
    rows = states(projection)
    live = rows.filter(live=True).first()
    if live is not None:
        return live
    newest = rows.aggregate(n=models.Max("generation"))["n"] or 0
    try:
        with projection.store.atomic():
            return rows.create(name=projection.name, generation=newest + 1, live=True)
    except IntegrityError:  # another process created it first
        return rows.get(live=True)


def apply_events(projection, generation: int, events: list[StoredEvent]) -> None:
    """Decode ``events`` and let ``projection`` write them into ``generation``."""
    if events:
        decoded = projection.store.codec.decode_all(events)
        projection.handle(list(zip(events, decoded, strict=True)), generation)


def run_batch(projection, generation: int, *, wait: bool = False) -> int:
    """Apply the next batch to ``generation``; return its size (0: caught up, or another
    process holds the generation and ``wait`` is false)."""
    with projection.store.atomic():
        locked = (
            states(projection).filter(generation=generation).select_for_update(skip_locked=not wait)
        )
        state = locked.first()
        if state is None:
            return 0
        read, key = next_batch(projection, state.ordering_key, state.position)
        now = timezone.now()
        if not read:
            if state.caught_up_at is None:
                state.caught_up_at = now
                state.save(update_fields=["caught_up_at"])
            return 0
        apply_events(projection, generation, read)
        state.ordering_key, state.position = key, read[-1].position
        state.applied += len(read)
        state.updated_at, state.last_error = now, ""
        if len(read) < projection.batch_size:
            state.caught_up_at = now
        state.save()
    return len(read)


def catch_up(
    projection,
    generation: int,
    *,
    max_batches: int | None = None,
    wait: bool = False,
    after_batch: AfterBatch | None = None,
) -> int:
    """Apply batches to ``generation`` until a short one (caught up) or ``max_batches``;
    return how many events. A failing batch keeps its error on the state row and raises."""
    total, batches = 0, 0
    while max_batches is None or batches < max_batches:
        try:
            moved = run_batch(projection, generation, wait=wait)
        except Exception as error:
            _record_error(projection, generation, error)
            raise
        total, batches = total + moved, batches + 1
        if moved and after_batch is not None:
            after_batch(states(projection).get(generation=generation), moved)
        if moved < projection.batch_size:
            break
    return total


def _record_error(projection, generation: int, error: Exception) -> None:
    message = f"{type(error).__name__}: {error}"[:4000]
    with projection.store.atomic():
        states(projection).filter(generation=generation).update(
            last_error=message, updated_at=timezone.now()
        )
