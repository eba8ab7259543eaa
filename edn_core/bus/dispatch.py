"""Consumer side: deliver one envelope to every local subscription, exactly once in effect.

Each handler runs in a transaction on its app's alias that also inserts the inbox row
``(consumer, event id)``; the unique constraint makes a concurrent or repeated delivery roll
back without effect. A failing handler is recorded (in its own transaction, by
:mod:`edn_core.bus.failures`) and retried with backoff by :mod:`edn_core.bus.retries`; an
envelope that is not a valid event is dead-lettered without reaching any handler.
"""

from __future__ import annotations

import json
import logging

from django.db import IntegrityError, connections, transaction
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from edn_core import schemas, tracing
from edn_core.bus import failures
from edn_core.bus.claim import HANDLED, INBOX_FIELDS, STALE, claim, inbox_values
from edn_core.bus.stores import store_for
from edn_core.bus.subscriptions import Subscription, subscriptions_for
from edn_core.domain import ConcurrencyConflict
from edn_core.events import IntegrationEvent, InvalidEnvelope, published_topics
from edn_core.observability import messaging

__all__ = [
    "DUPLICATE",
    "FAILED",
    "HANDLED",
    "INBOX_FIELDS",
    "STALE",
    "deliver",
    "inbox_values",
    "run_subscription",
]

logger = logging.getLogger(__name__)
DUPLICATE, FAILED = "duplicate", "failed"
CONFLICT_RETRIES = 5
DEAD_LETTERED = "dead-lettered"


def deliver(envelope: str | bytes, *, app_labels: set[str] | None = None) -> dict[str, str]:
    """Deliver ``envelope`` to each subscribed consumer (of ``app_labels`` if given).

    Returns ``{consumer: outcome}``. Never raises for handler errors or bad envelopes: those
    are recorded as failed deliveries or dead letters.
    """
    try:
        event = IntegrationEvent.from_json(envelope)
    except InvalidEnvelope as error:
        failures.dead_letter_invalid(envelope, str(error), app_labels)
        return {}
    targets = [
        s for s in subscriptions_for(event.topic) if app_labels is None or s.app_label in app_labels
    ]
    raw = envelope if isinstance(envelope, str) else envelope.decode("utf-8")
    if app_labels is not None and not targets:  # a stale binding or a foreign publisher
        error = f"no subscription of {sorted(app_labels)} handles {event.topic}"
        failures.dead_letter_invalid(raw, error, app_labels)
    return {s.consumer: run_subscription(s, event, raw) for s in targets}


def run_subscription(
    sub: Subscription,
    event: IntegrationEvent,
    envelope: str,
    *,
    retrying: bool = False,
    validated: bool = False,
) -> str:
    """Run one handler for one event; record success in the inbox or the failure for retry.

    ``retrying`` marks a redelivery of a recorded failure, which success then resolves;
    ``validated`` skips the schema check the caller already made.
    """
    with messaging.processing(sub.consumer, event) as processed:
        processed.outcome = _run(sub, event, envelope, retrying, validated)
    return processed.outcome


def _run(
    sub: Subscription, event: IntegrationEvent, envelope: str, retrying: bool, validated: bool
) -> str:
    store = store_for(sub.app_label)
    try:
        if not validated:
            schemas.validate_for_consume(event.topic, event.data, event.dataschema)
    except (schemas.EventSchemaViolation, schemas.UnknownSchema) as error:
        # An unknown version is a foreign or deleted one: kept to replay once registered.
        detail = json.dumps(getattr(error, "errors", {}), sort_keys=True)
        failures.dead_letter(sub, event, envelope, f"{error.message} {detail}")
        return DEAD_LETTERED
    except RecursionError:  # the schema checks walk the data recursively
        error = "data nested too deeply to be checked against its schema"
        failures.dead_letter(sub, event, envelope, error)
        return DEAD_LETTERED
    except schemas.RegistryUnavailable as error:
        failures.postpone(sub, event, envelope, error.message)
        return FAILED
    context = tracing.caused_by(event.id, event.correlation_id, event.traceparent)
    try:
        with tracing.using(context):
            outcome = _handle(store, sub, event, retrying)
    except IntegrityError as error:
        if store.rows(store.inbox).filter(consumer=sub.consumer, event_id=event.id).exists():
            if retrying:  # a replay of an event that was handled meanwhile
                failures.resolve(sub, event.id)
            return DUPLICATE
        failures.record_failure(sub, event, envelope, f"IntegrityError: {error}")
        return FAILED
    except schemas.RegistryUnavailable as error:  # the handler publishes: an outage too
        failures.postpone(sub, event, envelope, error.message)
        return FAILED
    except Exception as error:  # a handler bug must not stop other events from flowing
        logger.warning("handler %s failed on %s %s: %r", sub.consumer, event.topic, event.id, error)
        failures.record_failure(sub, event, envelope, f"{type(error).__name__}: {error}")
        return FAILED
    return outcome


def _handle(store, sub: Subscription, event: IntegrationEvent, retrying: bool) -> str:
    """One transaction: inbox row, checkpoint, handler. A lost optimistic race (another
    writer saved the same aggregate first) is run again at once, a few times, before it
    counts as a failure to retry with backoff."""
    schemas.prepare_for_publish(published_topics())  # a handler publishes: no HTTP inside
    for attempt in range(CONFLICT_RETRIES):
        try:
            with transaction.atomic(using=store.alias):
                outcome = apply(store, sub, event)
                if retrying:
                    failures.resolve(sub, event.id)
            return outcome
        except ConcurrencyConflict:
            if attempt == CONFLICT_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def apply(store, sub: Subscription, event: IntegrationEvent) -> str:
    """Inside the caller's transaction: the inbox row and checkpoint (one statement on
    PostgreSQL, :mod:`edn_core.bus.claim`), then the handler."""
    outcome = claim(store, sub, event, timezone.now())
    if outcome == HANDLED:
        sub.handler([event] if sub.batch else event)
        ensure_intact(store.alias)
    return outcome


def ensure_intact(alias: str) -> None:
    """Raise if a handler caught an error that broke the delivery's transaction (a failure
    inside a block without savepoint): committing would roll back silently while the
    delivery counted as handled."""
    if connections[alias].needs_rollback:
        raise TransactionManagementError("a handler swallowed an error inside its transaction")
