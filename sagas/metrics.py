"""Sagas in the metrics: instances by type and state, read at each scrape, and the duration
of every step's action or compensation, counted once its phase ended (after the commit)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Count
from prometheus_client import Histogram
from prometheus_client.core import GaugeMetricFamily

from edn_core.observability import metrics
from edn_core.routers import alias_for

__all__ = ["ended_phases", "figures"]

STEP_DURATION = Histogram(
    "edn_saga_step_duration_seconds",
    "From a saga step's command sent to its reply (or timeout, or cancel), by outcome.",
    ["saga_type", "step", "phase", "outcome"],
    buckets=metrics.LAG_BUCKETS,
)


def ended_phases(sagas, now: datetime) -> None:
    """Count the phases of ``sagas`` that ended at ``now`` (once the transaction commits)."""
    if not metrics.enabled() or not sagas:
        return
    ended = now.isoformat()
    observed = []
    for saga in sagas:
        for step in saga.steps:
            for phase in ("action", "compensation"):
                record = step.get(phase) or {}
                if record.get("endedAt") == ended and record.get("startedAt"):
                    seconds = (now - datetime.fromisoformat(record["startedAt"])).total_seconds()
                    labels = (saga.definition.name, step["name"], phase, record["state"])
                    observed.append((labels, seconds))

    def count() -> None:
        for labels, seconds in observed:
            metrics.child(STEP_DURATION, *labels).observe(seconds)

    transaction.on_commit(count, using=alias_for("sagas"))


def figures() -> list[GaugeMetricFamily]:
    from sagas.models import SagaRecord

    family = GaugeMetricFamily(
        "edn_saga_instances", "Saga instances by type and state.", labels=["saga_type", "state"]
    )
    rows = SagaRecord.objects.values_list("saga_type", "state").annotate(n=Count("id"))
    for saga_type, state, n in rows.order_by():
        family.add_metric([saga_type, state], n)
    return [family]
