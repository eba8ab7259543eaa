"""Generations of a projection: rebuild beside the live one and swap (blue/green, decision
0070), reset in place, re-project forgotten streams, and where each generation stands.

A projection's rows carry the generation that wrote them; its state table has one row per
generation, one of them ``live`` (the one reads use). ``rebuild`` writes generation N+1 from
the first event while N keeps serving reads and following appends, catches N+1 up, then flips
both ``live`` flags in one transaction and clears N.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import models
from django.utils import timezone

from edn_core.eventsourcing.models import ProjectionStateBase
from edn_core.eventsourcing.running import (
    AfterBatch,
    apply_events,
    catch_up,
    ensure_live,
    events_after,
    read_events,
    states,
    stored_rows,
)

__all__ = ["Standing", "lag", "reapply", "rebuild", "reset", "standing"]


def lag(projection, state: ProjectionStateBase) -> int:
    """How many stored events of the projection's streams ``state`` has not applied yet
    (those held back by a running transaction included)."""
    return events_after(stored_rows(projection), state.ordering_key, state.position).count()


@dataclass(frozen=True)
class Standing:
    name: str
    generation: int
    live: bool
    position: int
    applied: int
    lag: int
    caught_up_at: datetime | None
    last_error: str


def standing(projection) -> list[Standing]:
    """Where each generation of ``projection`` stands, live first."""
    return [
        Standing(
            projection.name,
            s.generation,
            s.live,
            s.position,
            s.applied,
            lag(projection, s),
            s.caught_up_at,
            s.last_error,
        )
        for s in states(projection).order_by("-live", "generation")
    ]


def _drop_stale(projection, live: ProjectionStateBase) -> None:
    """Clear generations older than the live one (a swap that stopped before clearing)."""
    for stale in states(projection).filter(live=False, generation__lt=live.generation):
        with projection.store.atomic():
            projection.clear(stale.generation)
            stale.delete()


def rebuild(projection, *, after_batch: AfterBatch | None = None) -> ProjectionStateBase:
    """Write the next generation from the first event beside the live one, then make it live
    and clear the old one. A rebuild that was stopped resumes where it stood."""
    live = ensure_live(projection)
    _drop_stale(projection, live)
    rows = states(projection)
    building = rows.filter(live=False).order_by("-generation").first()
    if building is None:
        newest = rows.aggregate(n=models.Max("generation"))["n"]
        building = rows.create(name=projection.name, generation=newest + 1, live=False)
    catch_up(projection, building.generation, wait=True, after_batch=after_batch)
    with projection.store.atomic():
        locked = {s.generation: s for s in rows.select_for_update().order_by("generation")}
        if building.generation not in locked:  # a reset dropped it meanwhile
            raise RuntimeError(f"generation {building.generation} of {projection.name} is gone")
        # the last few events, in the swap's transaction: the new generation is at least as
        # far as the old one was when reads move to it
        catch_up(projection, building.generation, wait=True, after_batch=after_batch)
        old = [s for s in locked.values() if s.live and s.generation != building.generation]
        rows.filter(generation__in=[s.generation for s in old]).update(live=False)
        rows.filter(generation=building.generation).update(live=True, updated_at=timezone.now())
    for state in old:
        with projection.store.atomic():
            projection.clear(state.generation)
            rows.filter(generation=state.generation).delete()
    return rows.get(generation=building.generation)


def reset(projection, *, after_batch: AfterBatch | None = None) -> ProjectionStateBase:
    """Replay from the first event into the live generation: one transaction deletes its rows
    and sets its checkpoint to zero (and drops an unfinished rebuild), then batches commit as
    usual -- reads see the read model fill up again. ``rebuild`` keeps reads whole instead."""
    live = ensure_live(projection)
    with projection.store.atomic():
        for other in states(projection).exclude(generation=live.generation):
            projection.clear(other.generation)
            other.delete()
        state = states(projection).select_for_update().get(generation=live.generation)
        projection.clear(state.generation)
        state.ordering_key = state.position = state.applied = 0
        state.started_at = state.updated_at = timezone.now()
        state.caught_up_at, state.last_error = None, ""
        state.save()
    catch_up(projection, live.generation, wait=True, after_batch=after_batch)
    return states(projection).get(generation=live.generation)


def reapply(projection, stream_ids: Iterable[str]) -> None:
    """Project ``stream_ids`` again in every generation, from their first event up to where
    that generation stands, in the caller's transaction (after a subject was forgotten)."""
    stream_ids = [str(s) for s in stream_ids]
    for state in states(projection).select_for_update().order_by("generation"):
        projection.forget(stream_ids, state.generation)
        seen = models.Q(ordering_key__lt=state.ordering_key) | models.Q(
            ordering_key=state.ordering_key, id__lte=state.position
        )
        rows = stored_rows(projection).filter(seen, stream_id__in=stream_ids)
        events = [event for _, event in read_events(rows.order_by("ordering_key", "id"))]
        apply_events(projection, state.generation, events)
