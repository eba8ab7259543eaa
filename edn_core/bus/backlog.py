"""What waits in a service's bus tables: pending outbox rows and the age of the oldest,
failed deliveries retrying and dead letters. One reading for ``edn_outbox``, ``/readyz`` and
the metrics, so they always tell the same ages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from edn_core.bus.stores import BusStore, all_stores
from edn_core.observability import collectors

__all__ = ["Backlog", "backlog", "backlogs", "figures"]


@dataclass(frozen=True)
class Backlog:
    alias: str
    pending: int
    oldest_pending_age: float  # seconds; 0 when nothing is pending
    retrying: int | None  # None: not read (failures=False)
    dead: int | None


def backlog(store: BusStore, now: datetime | None = None, *, failures: bool = True) -> Backlog:
    """``store``'s backlog; ``failures=False`` leaves the failed deliveries unread (the
    readiness probe reports the outbox only)."""
    now = now or timezone.now()
    pending_rows = store.rows(store.outbox).filter(sent_at__isnull=True)
    pending = pending_rows.count()
    # the oldest pending row is the one first in id order: the pending index answers it
    oldest = pending_rows.order_by("id").values_list("created_at", flat=True).first()
    counts = {"retrying": None, "dead": None}
    if failures:
        counts = store.rows(store.failures).aggregate(
            retrying=Count("id", filter=Q(status=store.failures.RETRYING)),
            dead=Count("id", filter=Q(status=store.failures.DEAD)),
        )
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return Backlog(store.alias, pending, age, counts["retrying"], counts["dead"])


def backlogs(*, failures: bool = True) -> list[Backlog]:
    now = timezone.now()
    return [backlog(store, now, failures=failures) for store in all_stores()]


def figures() -> list[GaugeMetricFamily]:
    """The backlogs as metrics, read at each scrape."""
    families = {
        "pending": GaugeMetricFamily(
            "edn_outbox_pending_messages", "Outbox rows not yet published.", labels=["alias"]
        ),
        "oldest_pending_age": GaugeMetricFamily(
            "edn_outbox_oldest_pending_age_seconds",
            "Age of the oldest outbox row not yet published (0: none pending).",
            labels=["alias"],
        ),
        "retrying": GaugeMetricFamily(
            "edn_deliveries_retrying", "Failed deliveries waiting to run again.", labels=["alias"]
        ),
        "dead": GaugeMetricFamily(
            "edn_dead_letters_present", "Dead letters kept (not resolved).", labels=["alias"]
        ),
    }
    for found in backlogs():
        for field, family in families.items():
            family.add_metric([found.alias], getattr(found, field))
    return list(families.values())


collectors.register("bus", figures)
