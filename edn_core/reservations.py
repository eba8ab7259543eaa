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
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from edn_core.domain import ConcurrencyConflict, DomainError

__all__ = ["Ledger", "Outcome", "ReservationBase"]


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


@dataclass(frozen=True)
class Outcome:
    ok: bool
    reason: str = ""
    detail: dict[str, Any] | None = None


class Ledger:
    """Reserve and release through ``model`` (a concrete :class:`ReservationBase`)."""

    def __init__(self, model: type[ReservationBase], alias: str) -> None:
        self.model, self.alias = model, alias

    def _rows(self):
        return self.model._default_manager.using(self.alias)

    def _locked(self, reservation: str) -> ReservationBase | None:
        return self._rows().select_for_update().filter(reservation=reservation).first()

    def reserve(self, reservation: str, detail: dict, hold: Callable[[], None]) -> Outcome:
        """Run ``hold`` once for ``reservation``; a domain refusal is an answer, not an error."""
        with transaction.atomic(using=self.alias, savepoint=False):
            row = self._locked(reservation)
            if row is not None:
                if row.state == row.HELD:
                    return Outcome(True, detail=row.detail)
                return Outcome(False, row.reason or f"reservation {reservation} was {row.state}")
            try:
                with transaction.atomic(using=self.alias):
                    hold()
            except ConcurrencyConflict:
                raise  # not an answer: the delivery fails and is retried
            except DomainError as refusal:
                self._record(reservation, self.model.REFUSED, detail, _reason(refusal))
                return Outcome(False, _reason(refusal))
            self._record(reservation, self.model.HELD, detail, "")
            return Outcome(True, detail=detail)

    def release(self, reservation: str, undo: Callable[[dict], None]) -> Outcome:
        """Undo what ``reservation`` holds (``undo(detail)``), once; tombstone an unknown one."""
        with transaction.atomic(using=self.alias, savepoint=False):
            row = self._locked(reservation)
            if row is None:
                self._record(reservation, self.model.RELEASED, {}, "released before reserved")
                return Outcome(True, detail={})
            if row.state == row.HELD:
                undo(row.detail)
                row.state, row.updated_at = row.RELEASED, timezone.now()
                row.save(update_fields=["state", "updated_at"])
            return Outcome(True, detail=row.detail)

    def _record(self, reservation: str, state: str, detail: dict, reason: str) -> None:
        self._rows().create(reservation=reservation, state=state, detail=detail, reason=reason)


def _reason(error: DomainError) -> str:
    errors = getattr(error, "errors", None)
    if errors:
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())
    return error.message
