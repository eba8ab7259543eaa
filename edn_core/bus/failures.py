"""Failed deliveries kept as rows: attempts counted with backoff, postponements, dead letters.

Bookkeeping only: the consumer (:mod:`edn_core.bus.dispatch`) records here what a delivery
came to, and :mod:`edn_core.bus.retries` runs the due rows again through the consumer, so the
imports go one way (retries -> dispatch -> failures).
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from edn_core.bus.config import bus_config
from edn_core.bus.stores import BusStore, all_stores, store_for
from edn_core.bus.subscriptions import Subscription
from edn_core.observability import metrics

__all__ = [
    "INVALID_ENVELOPE_CONSUMER",
    "backoff",
    "dead_letter",
    "dead_letter_invalid",
    "postpone",
    "record_failure",
    "resolve",
]

INVALID_ENVELOPE_CONSUMER = "edn.invalid-envelope"


def backoff(attempts: int) -> timedelta:
    """Delay before attempt ``attempts + 1``: exponential with full jitter, capped."""
    config = bus_config()
    ceiling = min(config.retry_max_seconds, config.retry_base_seconds * 2 ** (attempts - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def _locked_failure(store: BusStore, consumer: str, event, envelope: str):
    """The failure row of (consumer, event), made if new, locked until the transaction ends."""
    row, _ = (
        store.rows(store.failures)
        .select_for_update()
        .get_or_create(
            consumer=consumer,
            event_id=event.id,
            defaults={"topic": event.topic, "envelope": envelope},
        )
    )
    return row


def record_failure(sub: Subscription, event, envelope: str, error: str) -> None:
    """Count a failed attempt of ``sub`` on ``event``; schedule the next one or make it a
    dead letter."""
    store, max_attempts = store_for(sub.app_label), bus_config().max_attempts
    with transaction.atomic(using=store.alias):
        row = _locked_failure(store, sub.consumer, event, envelope)
        row.attempts += 1
        row.last_error = error[:10_000]
        row.updated_at = timezone.now()
        if row.attempts >= max_attempts:
            row.status, row.next_attempt_at = row.DEAD, None
        else:
            row.status, row.next_attempt_at = row.RETRYING, timezone.now() + backoff(row.attempts)
        row.save()
    if row.status == row.DEAD:
        _dead_letter_counted(sub.consumer)
    else:
        _retry_counted(sub.consumer, "failed")


def postpone(sub: Subscription, event, envelope: str, error: str) -> None:
    """Retry later a delivery a server-side outage (the schema registry) stopped before its
    handler ran: no attempt is counted, so a long outage never makes a dead letter. The
    wait grows with the outage (about as long as it has lasted), within the retry bounds."""
    store, config = store_for(sub.app_label), bus_config()
    with transaction.atomic(using=store.alias):
        row = _locked_failure(store, sub.consumer, event, envelope)
        now = timezone.now()
        lasted = (now - row.created_at).total_seconds()
        ceiling = min(config.retry_max_seconds, max(config.retry_base_seconds, lasted))
        row.status, row.last_error, row.updated_at = row.RETRYING, error[:10_000], now
        row.next_attempt_at = now + timedelta(seconds=random.uniform(ceiling / 2, ceiling))
        row.save()
    _retry_counted(sub.consumer, "postponed")


def dead_letter(sub: Subscription, event, envelope: str, error: str) -> None:
    """Make this delivery a dead letter at once (it can never succeed as it is)."""
    store = store_for(sub.app_label)
    store.rows(store.failures).update_or_create(
        consumer=sub.consumer,
        event_id=event.id,
        defaults={
            "topic": event.topic,
            "envelope": envelope,
            "status": store.failures.DEAD,
            "attempts": 1,
            "last_error": error[:10_000],
            "next_attempt_at": None,
            "updated_at": timezone.now(),
        },
    )
    _dead_letter_counted(sub.consumer)


def resolve(sub: Subscription, event_id: str) -> None:
    """Mark an earlier failure of this delivery resolved (in the handler's transaction)."""
    store = store_for(sub.app_label)
    store.rows(store.failures).filter(consumer=sub.consumer, event_id=event_id).exclude(
        status=store.failures.RESOLVED
    ).update(status=store.failures.RESOLVED, next_attempt_at=None, updated_at=timezone.now())


def dead_letter_invalid(envelope: str | bytes, error: str, app_labels: set[str] | None) -> None:
    """Keep a message that is not a valid event as a dead letter; no handler sees it."""
    raw = _storable(envelope if isinstance(envelope, str) else envelope.decode("utf-8", "replace"))
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):
        parsed = {}
    parsed = {k: v for k, v in parsed.items() if isinstance(v, str)} if type(parsed) is dict else {}
    event_id = _storable(parsed.get("id") or hashlib.sha256(raw.encode()).hexdigest()[:32])[:100]
    stores = [store_for(a) for a in sorted(app_labels)] if app_labels else all_stores()[:1]
    for store in stores:
        store.rows(store.failures).update_or_create(
            consumer=INVALID_ENVELOPE_CONSUMER,
            event_id=event_id,
            defaults={
                "topic": _storable(parsed.get("type", ""))[:200],
                "envelope": raw,
                "status": store.failures.DEAD,
                "attempts": 1,
                "last_error": _storable(error),
                "next_attempt_at": None,
                "updated_at": timezone.now(),
            },
        )
    _dead_letter_counted(INVALID_ENVELOPE_CONSUMER)


def _retry_counted(consumer: str, reason: str) -> None:
    if metrics.enabled():
        metrics.child(metrics.RETRIES, consumer, reason).inc()


def _dead_letter_counted(consumer: str) -> None:
    if metrics.enabled():
        metrics.child(metrics.DEAD_LETTERS, consumer).inc()


def _storable(text: str) -> str:
    """``text`` as any database keeps it: no NUL (PostgreSQL), no lone surrogate (UTF-8)."""
    return text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
