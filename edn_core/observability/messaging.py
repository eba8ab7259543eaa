"""Telemetry of the bus: spans after the OpenTelemetry semantic conventions for messaging,
and the metrics of :mod:`.metrics`, recorded at the four operations.

- ``create`` (producer): an event written to the outbox, in the trace of the work that wrote
  it; the envelope keeps the create span's context, and everything later starts from it.
- ``send`` (producer): the relay's publish. One span per sampled trace among the batch's
  rows, the child of its first message's creation and linked to each one's, so a request's
  trace shows the publish of what it wrote.
- ``process`` (consumer): a handler's run, the child of the event's creation context.
- ``settle`` (client): the acks of a consumer's batch, per sampled trace as ``send``.

With tracing off (:mod:`.otel`) only the metrics are recorded; with ``EDN_METRICS=0`` too,
each helper costs one test.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext

from edn_core.envelope import IntegrationEvent
from edn_core.observability import metrics, otel

__all__ = [
    "Processed",
    "created",
    "processing",
    "processing_many",
    "recorded",
    "sending",
    "settling",
]


def created(built: Sequence[IntegrationEvent]) -> Sequence[IntegrationEvent]:
    """A ``create`` span per event, in the trace its traceparent names (or a new one); the
    events come back carrying their create span's context."""
    if not otel.enabled():
        return built
    from edn_core.observability.messaging_spans import created_spans

    return created_spans(built)


@contextmanager
def sending(rows: Sequence) -> Iterator[list[int]]:
    """Around a relay's publish of ``rows`` (outbox rows: ``topic``, ``event_id``,
    ``envelope``); the caller puts how many the transport confirmed in the yielded list."""
    confirmed: list[int] = []
    start = time.perf_counter()
    with batch_spans("send", [(r.topic, r.envelope) for r in rows], "PRODUCER"):
        yield confirmed
    if metrics.enabled():
        name = metrics.system()
        metrics.child(metrics.OPERATION_DURATION, name, "send").observe(time.perf_counter() - start)
        for row in rows[: confirmed[0] if confirmed else 0]:
            metrics.child(metrics.SENT, name, row.topic).inc()


@contextmanager
def settling(destination: str, bodies: Iterable) -> Iterator[None]:
    """Around the acks of a consumer's batch of broker messages (their ``bodies``)."""
    start = time.perf_counter()
    with batch_spans("settle", [(destination, body) for body in bodies], "CLIENT"):
        yield
    if metrics.enabled():
        metrics.child(metrics.OPERATION_DURATION, metrics.system(), "settle").observe(
            time.perf_counter() - start
        )


class Processed:
    """What a ``process`` block reports: the caller sets :attr:`outcome` before it ends."""

    __slots__ = ("consumer", "events", "outcome", "seconds")

    def __init__(self, consumer: str, events: Sequence[IntegrationEvent]) -> None:
        self.consumer, self.events, self.outcome, self.seconds = consumer, events, "handled", 0.0


def processing(consumer: str, event: IntegrationEvent, *, record: bool = True):
    """Around one consumer's processing of ``event``."""
    return processing_many(consumer, [event], record=record)


@contextmanager
def processing_many(
    consumer: str, events: Sequence[IntegrationEvent], *, record: bool = True
) -> Iterator[Processed]:
    """Around one consumer's processing of ``events`` at once (a batch handler): one span,
    the child of the first event's creation, linked to each one's. ``record=False``: the
    caller records the metrics (:func:`record`) once its transaction committed."""
    processed = Processed(consumer, events)
    start = time.perf_counter()
    with process_span(consumer, events) if otel.enabled() else nullcontext() as span:
        yield processed
        if span is not None and processed.outcome != "handled":
            span.set_attribute("edn.outcome", processed.outcome)
    processed.seconds = time.perf_counter() - start
    if record:
        recorded([processed])


def recorded(done: Iterable[Processed]) -> None:
    """Count finished processing (outcome, duration, lag) in the metrics."""
    if not metrics.enabled():
        return
    now, name = time.time(), metrics.system()
    for processed in done:
        consumer, events = processed.consumer, processed.events
        topic = events[0].topic
        metrics.child(metrics.PROCESS_DURATION, topic, consumer).observe(processed.seconds)
        for event in events:
            labels = (event.topic, consumer)
            metrics.child(metrics.CONSUMER_LAG, *labels).observe(now - event.time.timestamp())
            metrics.child(metrics.CONSUMED, name, *labels, processed.outcome).inc()
            if processed.outcome == "duplicate":
                metrics.child(metrics.DUPLICATES, consumer).inc()


def batch_spans(operation: str, items: list[tuple[str, object]], kind: str):
    """``operation`` spans for the sampled traces among ``items`` (destination, envelope)."""
    if not otel.enabled():
        return nullcontext()
    from edn_core.observability.messaging_spans import spans_per_trace

    return spans_per_trace(operation, items, kind)


def process_span(consumer: str, events: Sequence[IntegrationEvent]):
    from edn_core.observability.messaging_spans import process_span

    return process_span(consumer, events)
