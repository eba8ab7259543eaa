"""The projection runner: read the store in batches below the oldest running transaction
(decision 0068) and apply each batch with the checkpoint that follows it, in one transaction.

A batch that fails rolls back whole (rows and checkpoint): nothing is lost or applied twice;
the error is kept on the projection's state row and the next run starts at the same event.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import IntegrityError, connections, models
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
        state = _lock(projection, generation, wait)
        if state is None:
            return 0
        row, key, position, caught_up = state
        read, key = next_batch(projection, key, position)
        if read:
            apply_events(projection, generation, read)
        elif caught_up is not None:
            return 0
        _checkpoint(projection, row, key, read, short=len(read) < projection.batch_size)
    return len(read)


def _state_table(projection) -> tuple:
    connection = connections[projection.store.alias]
    model = find_model(projection.store.app_label, ProjectionStateBase)
    return connection, connection.ops.quote_name(model._meta.db_table)


def _lock(projection, generation: int, wait: bool) -> tuple | None:
    """``(id, ordering key, position, caught up at)`` of ``generation``'s state, locked
    until the batch's transaction ends; None when another process holds it (and ``wait``
    is false) or it is gone."""
    connection, table = _state_table(projection)
    lock = ""
    if connection.features.has_select_for_update:  # SQLite: the transaction holds the file
        skip = not wait and connection.features.has_select_for_update_skip_locked
        lock = " FOR UPDATE SKIP LOCKED" if skip else " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, ordering_key, position, caught_up_at FROM {table} "
            f"WHERE name = %s AND generation = %s{lock}",
            [projection.name, generation],
        )
        return cursor.fetchone()


def _checkpoint(projection, row: int, key: int, read: list[StoredEvent], *, short: bool):
    """Move the state past ``read`` (or mark it caught up when nothing was read)."""
    connection, table = _state_table(projection)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    caught_up = "%s" if short else "caught_up_at"
    with connection.cursor() as cursor:
        if not read:
            cursor.execute(f"UPDATE {table} SET caught_up_at = %s WHERE id = %s", [now, row])
            return
        cursor.execute(
            f"UPDATE {table} SET ordering_key = %s, position = %s, applied = applied + %s, "
            f"updated_at = %s, last_error = '', caught_up_at = {caught_up} WHERE id = %s",
            [key, read[-1].position, len(read), now, *([now] if short else []), row],
        )


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
