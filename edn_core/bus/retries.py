"""Run failed deliveries again: the due retries of a store, and a dead letter replayed.

The rows are kept by :mod:`edn_core.bus.failures`; running one again is an ordinary delivery
through :func:`edn_core.bus.dispatch.run_subscription`, which resolves the row on success.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from edn_core.bus.config import bus_config
from edn_core.bus.dispatch import FAILED, run_subscription
from edn_core.bus.stores import BusStore
from edn_core.bus.subscriptions import by_consumer
from edn_core.events import IntegrationEvent, InvalidEnvelope

__all__ = ["redeliver", "replay", "retry_due"]


def _claim(store: BusStore, row) -> bool:
    """Lease a due retry so that concurrent sweepers do not run it twice at once."""
    lease = timezone.now() + timedelta(seconds=bus_config().retry_lease_seconds)
    return bool(
        store.rows(store.failures)
        .filter(pk=row.pk, status=row.RETRYING, next_attempt_at=row.next_attempt_at)
        .update(next_attempt_at=lease)
    )


def retry_due(store: BusStore, *, now=None, limit: int = 100) -> int:
    """Run failed deliveries whose backoff has passed; return how many were attempted."""
    due = list(
        store.rows(store.failures)
        .filter(status=store.failures.RETRYING, next_attempt_at__lte=now or timezone.now())
        .order_by("next_attempt_at")[:limit]
    )
    attempted = 0
    for row in due:
        if _claim(store, row):
            redeliver(store, row)
            attempted += 1
    return attempted


def replay(store: BusStore, row) -> str:
    """Deliver a dead letter again now (after a fix); its attempt count starts over."""
    store.rows(store.failures).filter(pk=row.pk).update(
        status=row.RETRYING, attempts=0, next_attempt_at=timezone.now(), updated_at=timezone.now()
    )
    row.refresh_from_db()
    return redeliver(store, row)


def redeliver(store: BusStore, row) -> str:
    """Run the handler of a recorded failed delivery again."""
    sub = by_consumer(row.consumer)
    if sub is None:
        return _dead(store, row, f"no subscription named {row.consumer} is hosted here")
    try:
        event = IntegrationEvent.from_json(row.envelope)
    except InvalidEnvelope as error:
        return _dead(store, row, str(error))
    return run_subscription(sub, event, row.envelope, retrying=True)


def _dead(store: BusStore, row, reason: str) -> str:
    """Leave a delivery that cannot run here as a dead letter saying why (no next attempt)."""
    now = timezone.now()
    store.rows(store.failures).filter(pk=row.pk).update(
        status=row.DEAD, last_error=reason, next_attempt_at=None, updated_at=now
    )
    return FAILED
