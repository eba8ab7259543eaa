"""The platform's Prometheus metrics, recorded where the work happens (see
docs/observability.md for each one and what to do when it moves).

Names follow the OpenTelemetry semantic conventions where one exists (``http.server.request
.duration`` is ``http_server_request_duration_seconds``, and so on); the platform's own start
with ``edn_``. Under gunicorn every worker writes to ``PROMETHEUS_MULTIPROC_DIR`` and
``/metrics`` adds them up (:mod:`.exposition`). ``EDN_METRICS=0`` turns recording off.
Figures read from the databases at scrape time (outbox ages, dead letters, sagas) are in
:mod:`.collectors`.
"""

from __future__ import annotations

import os
from functools import cache

from django.core.signals import setting_changed
from prometheus_client import Counter, Histogram, disable_created_metrics

__all__ = ["child", "enabled", "system"]

disable_created_metrics()  # no *_created series: a third fewer, and nobody reads them
SYSTEM, DESTINATION, GROUP = (
    "messaging_system",
    "messaging_destination_name",
    "messaging_consumer_group_name",
)
# seconds: from a millisecond handler to a consumer minutes behind
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600)

HTTP_DURATION = Histogram(
    "http_server_request_duration_seconds",
    "Duration of HTTP server requests, by route and status.",
    ["http_request_method", "http_route", "http_response_status_code"],
    buckets=BUCKETS,
)
SENT = Counter(
    "messaging_client_sent_messages",
    "Messages the relay published and the transport confirmed.",
    [SYSTEM, DESTINATION],
)
OPERATION_DURATION = Histogram(
    "messaging_client_operation_duration_seconds",
    "Duration of a publish (send: one relay batch) or of the acks of a batch (settle).",
    [SYSTEM, "messaging_operation_name"],
    buckets=BUCKETS,
)
CONSUMED = Counter(
    "messaging_client_consumed_messages",
    "Deliveries of an event to a consumer, by outcome (handled, stale, duplicate, failed, "
    "dead-lettered).",
    [SYSTEM, DESTINATION, GROUP, "edn_outcome"],
)
PROCESS_DURATION = Histogram(
    "messaging_process_duration_seconds",
    "Duration of a consumer's processing of one event (its handler and inbox row).",
    [DESTINATION, GROUP],
    buckets=BUCKETS,
)
CONSUMER_LAG = Histogram(
    "edn_consumer_lag_seconds",
    "Consumer lag as an age: now minus the event's time, when a consumer processes it.",
    [DESTINATION, GROUP],
    buckets=LAG_BUCKETS,
)
DUPLICATES = Counter(
    "edn_inbox_duplicates",
    "Deliveries the inbox rejected: the consumer had handled that event already.",
    [GROUP],
)
RETRIES = Counter(
    "edn_delivery_retries",
    "Failed deliveries scheduled to run again (reason: failed, or postponed by an outage).",
    [GROUP, "reason"],
)
DEAD_LETTERS = Counter(
    "edn_dead_letters",
    "Deliveries made dead letters (invalid event, schema violation, attempts exhausted).",
    [GROUP],
)


def _forget_system(*, setting, **_) -> None:
    if setting in ("EDN_BUS_TRANSPORT", "CELERY_BROKER_URL"):
        system.cache_clear()


setting_changed.connect(_forget_system, dispatch_uid="edn-metrics-system")


@cache
def system() -> str:
    """``messaging.system``: the broker behind the transport (rabbitmq, redis), dapr, or
    ``in_process`` for the one-process bus."""
    from django.conf import settings

    transport = settings.EDN_BUS_TRANSPORT
    if transport != "celery":
        return {"local": "in_process"}.get(transport, transport)
    scheme = settings.CELERY_BROKER_URL.split(":", 1)[0]
    return "rabbitmq" if scheme.startswith(("amqp", "pyamqp")) else scheme.split("+")[0]


@cache
def enabled() -> bool:
    return os.environ.get("EDN_METRICS", "1").strip().lower() not in ("0", "false", "off", "no")


_children: dict = {}


def child(metric, *labels: str):
    """``metric.labels(*labels)``, kept: the label lookup is paid once per combination."""
    key = (metric, labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return found
