"""Reservations a saga participant holds for someone else, each applied at most once.

A saga asks a participant to reserve (credit, stock) and, when it compensates, to release.
Requests may arrive twice, late, or in the wrong order (a release for a request that timed
out can overtake the request itself). The ledger makes that harmless:

- a repeated reserve answers what the first one answered, without a second hold;
- a release undoes exactly what was held, once; a repeated release does nothing;
- a release of a reservation never seen leaves a tombstone, so the late reserve is refused.

Each app declares one concrete :class:`ReservationBase` model in its own alias; the ledger
runs in the caller's transaction, beside the aggregate change and the reply in the outbox.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import models, transaction
from django.utils import timezone

from edn_core.bulk import insert_rows
from edn_core.cqrs.messages import Answer
from edn_core.domain import ConcurrencyConflict, DomainError

__all__ = ["Ledger", "ReservationBase"]


class ReservationBase(models.Model):
    HELD, RELEASED, REFUSED = "held", "released", "refused"
    STATES = [(HELD, "held"), (RELEASED, "released"), (REFUSED, "refused")]

    reservation = models.CharField(max_length=100, unique=True)
    state = models.CharField(max_length=10, choices=STATES)
    detail = models.JSONField(default=dict, help_text="what was held, to release it exactly")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"reservation {self.reservation} ({self.state})"


class Ledger:
    """Reserve and release through ``model`` (a concrete :class:`ReservationBase`)."""

    def __init__(self, model: type[ReservationBase], alias: str) -> None:
        self.model, self.alias = model, alias

    def _rows(self):
        return self.model._default_manager.using(self.alias)

    def _locked(self, reservations) -> dict[str, ReservationBase]:
        rows = self._rows().select_for_update().filter(reservation__in=list(reservations))
        return {row.reservation: row for row in rows}

    def reserve(self, requests: list[tuple[str, dict, Callable[[], None]]]) -> list[Answer]:
        """For each ``(reservation, detail, hold)`` in order, run ``hold`` once; answer each.

        ``hold`` changes aggregates the caller loaded (and saves afterwards) and refuses by
        raising a domain error *before* changing anything: a refusal is an answer, recorded
        so that the same request gets the same answer again.
        """
        with transaction.atomic(using=self.alias, savepoint=False):
            known = self._locked(r for r, _, _ in requests)
            answers = []
            for reservation, detail, hold in requests:
                row = known.get(reservation)
                if row is not None:
                    answers.append(_answer(row))
                    continue
                try:
                    hold()
                except ConcurrencyConflict:
                    raise  # not an answer: the delivery fails and is retried
                except DomainError as refusal:
                    row = self._new(reservation, self.model.REFUSED, detail, _reason(refusal))
                else:
                    row = self._new(reservation, self.model.HELD, detail, "")
                known[reservation] = row
                answers.append(_answer(row))
            insert_rows(self.model, self.alias, [r for r in known.values() if r._state.adding])
        return answers

    def release(
        self,
        reservations: list[str],
        undo: Callable[[str, dict], None],
        load: Callable[[list[dict]], None] = lambda details: None,
    ) -> list[Answer]:
        """Undo what each reservation holds (``undo(reservation, detail)``), once; leave a
        tombstone for one never seen. ``load(details)`` runs first, with every held detail,
        so the caller can load the aggregates ``undo`` changes in one go."""
        with transaction.atomic(using=self.alias, savepoint=False):
            known = self._locked(reservations)
            load([row.detail for row in known.values() if row.state == row.HELD])
            released, answers = [], []
            for reservation in reservations:
                row = known.get(reservation)
                if row is None:
                    row = known[reservation] = self._new(
                        reservation, self.model.RELEASED, {}, "released before reserved"
                    )
                elif row.state == row.HELD:
                    undo(reservation, row.detail)
                    row.state = row.RELEASED
                    released.append(row.pk)
                answers.append(Answer(True, detail=row.detail))
            insert_rows(self.model, self.alias, [r for r in known.values() if r._state.adding])
            if released:
                self._rows().filter(pk__in=released).update(
                    state=self.model.RELEASED, updated_at=timezone.now()
                )
        return answers

    def _new(self, reservation: str, state: str, detail: dict, reason: str) -> ReservationBase:
        return self.model(reservation=reservation, state=state, detail=detail, reason=reason)


def _answer(row: ReservationBase) -> Answer:
    if row.state == row.HELD:
        return Answer(True, detail=row.detail)
    return Answer(False, row.reason or f"reservation {row.reservation} was {row.state}")


def _reason(error: DomainError) -> str:
    errors = getattr(error, "errors", None)
    if errors:
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())
    return error.message
