"""Deliver many envelopes with one transaction per subscriber alias instead of one per event.

The relay hands the local transport a batch of outbox rows; the Celery consumer hands over
what the broker had ready (each message one event, or several in CloudEvents batched mode).
Each alias's deliveries (inbox row, checkpoint, handler) run in order in one transaction, so
a batch costs one commit per alias rather than one per event.
The fast path has no savepoints: if any delivery of the batch raises (a duplicate, a handler
bug, a lost optimistic race), the whole transaction rolls back and that alias's deliveries
run again one transaction each through :func:`edn_core.bus.dispatch.run_subscription`, which
records duplicates, failures and dead letters exactly as single deliveries do.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from edn_core import schemas, tracing
from edn_core.bulk import advance_checkpoints, insert_values
from edn_core.bus import failures
from edn_core.bus.dispatch import (
    DEAD_LETTERED,
    FAILED,
    HANDLED,
    INBOX_FIELDS,
    STALE,
    apply,
    ensure_intact,
    inbox_values,
    run_subscription,
)
from edn_core.bus.stores import store_for
from edn_core.bus.subscriptions import Subscription, subscriptions_for
from edn_core.envelope import IntegrationEvent, InvalidEnvelope, read_message, source_text
from edn_core.events import published_topics
from edn_core.observability import messaging

__all__ = ["deliver_batch"]

logger = logging.getLogger(__name__)
Work = tuple[Subscription, IntegrationEvent, Any]  # the event's source: see read_message


def deliver_batch(
    envelopes: Iterable[str | bytes], *, app_labels: set[str] | None = None
) -> dict[str, int]:
    """Deliver every envelope to its subscriptions (of ``app_labels`` if given), in order per
    alias. Returns outcome counts. Raises only when the database itself fails (the caller
    keeps the messages unacknowledged)."""
    counts: dict[str, int] = {}
    by_alias: dict[str, list[Work]] = {}
    for raw in envelopes:
        for source, event in read_message(raw):
            if isinstance(event, InvalidEnvelope):
                failures.dead_letter_invalid(source_text(source), str(event), app_labels)
                counts[DEAD_LETTERED] = counts.get(DEAD_LETTERED, 0) + 1
                continue
            targets = subscriptions_for(event.topic)
            if app_labels is not None:
                targets = [sub for sub in targets if sub.app_label in app_labels]
                if not targets:  # sent here by a stale binding or a foreign publisher
                    error = f"no subscription of {sorted(app_labels)} handles {event.topic}"
                    failures.dead_letter_invalid(source_text(source), error, app_labels)
                    counts[DEAD_LETTERED] = counts.get(DEAD_LETTERED, 0) + 1
            for sub in targets:
                outcome = _check_schema(sub, event, source)
                if outcome is None:
                    alias = store_for(sub.app_label).alias
                    by_alias.setdefault(alias, []).append((sub, event, source))
                else:
                    counts[outcome] = counts.get(outcome, 0) + 1
    if by_alias:  # handlers publish: resolve their schemas before any transaction opens
        schemas.prepare_for_publish(published_topics())
    for alias, work in by_alias.items():
        for outcome in _run_together(alias, work):
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _check_schema(sub: Subscription, event: IntegrationEvent, source) -> str | None:
    try:
        schemas.validate_for_consume(event.topic, event.data, event.dataschema)
    except (schemas.EventSchemaViolation, schemas.UnknownSchema, RecursionError):
        return run_subscription(sub, event, source_text(source))  # the dead letter, with details
    except schemas.RegistryUnavailable as error:
        failures.postpone(sub, event, source_text(source), error.message)
        return FAILED
    return None


def _run_together(alias: str, work: list[Work]) -> list[str]:
    processed: list[messaging.Processed] = []  # counted once the transaction committed
    try:
        with transaction.atomic(using=alias):
            outcomes = _apply_all(work, processed)
    except Exception as error:  # one bad apple: every delivery on its own, as usual
        logger.info("batch of %d on %s fell back to single deliveries: %r", len(work), alias, error)
        return [run_subscription(s, e, source_text(raw), validated=True) for s, e, raw in work]
    messaging.recorded(processed)
    return outcomes


def _apply_all(work: list[Work], processed: list) -> list[str]:
    """Every delivery in order; a batch subscription's events all at once, where its first is."""
    outcomes, done = [], set()
    for sub, event, _ in work:
        if not sub.batch:
            outcomes.append(_apply(sub, event, processed))
        elif sub.consumer not in done:
            done.add(sub.consumer)
            events = [e for s, e, _ in work if s.consumer == sub.consumer]
            outcomes += apply_many(store_for(sub.app_label), sub, events, processed)
    return outcomes


def _apply(sub: Subscription, event: IntegrationEvent, processed: list) -> str:
    context = tracing.caused_by(event.id, event.correlation_id, event.traceparent)
    with messaging.processing(sub.consumer, event, record=False) as work, tracing.using(context):
        work.outcome = apply(store_for(sub.app_label), sub, event)
    processed.append(work)
    return work.outcome


def apply_many(
    store, sub: Subscription, events: list[IntegrationEvent], processed: list | None = None
) -> list[str]:
    """A batch subscription's share of the batch: checkpoints and inbox rows in a few
    statements, then one call of the handler with the events to apply. Its processing is
    added to ``processed`` to be counted (else counted at once)."""
    applied = _claim_checkpoints(store, sub, events) if sub.latest_wins else events
    chosen = {event.id for event in applied}
    outcomes = [HANDLED if event.id in chosen else STALE for event in events]
    now = timezone.now()
    rows = [inbox_values(sub, e, o, now) for e, o in zip(events, outcomes, strict=True)]
    insert_values(store.inbox, store.alias, INBOX_FIELDS, rows)
    if applied:
        first = applied[0]  # the batch's work continues the first event's trace
        context = tracing.caused_by(first.id, first.correlation_id, first.traceparent)
        record = processed is None
        with (
            messaging.processing_many(sub.consumer, applied, record=record) as work,
            tracing.using(context),
        ):
            sub.handler(applied)
            ensure_intact(store.alias)
        if processed is not None:
            processed.append(work)
    return outcomes


def _claim_checkpoints(store, sub: Subscription, events: list[IntegrationEvent]) -> list:
    """The newest event per aggregate, if newer than its checkpoint (moved in one statement)."""
    newest: dict[str, IntegrationEvent] = {}
    for event in events:
        if event.aggregate_id not in newest or event.sequence > newest[event.aggregate_id].sequence:
            newest[event.aggregate_id] = event
    sequences = {aggregate: event.sequence for aggregate, event in newest.items()}
    moved = advance_checkpoints(store.checkpoints, store.alias, sub.consumer, sequences)
    return [event for aggregate, event in newest.items() if aggregate in moved]
