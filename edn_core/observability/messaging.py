"""Telemetry of the bus: spans after the OpenTelemetry semantic conventions for messaging,
and the metrics of :mod:`.metrics`, recorded at the four operations.

- ``create`` (producer): an event written to the outbox, in the trace of the work that wrote
  it; the envelope keeps the create span's context, and everything later starts from it.
- ``send`` (producer): the relay's publish. One span per sampled trace among the batch's
  rows, the child of its first message's creation and linked to each one's, so a request's
  trace shows the publish of what it wrote.
- ``process`` (consumer): a handler's run, the child of the event's creation context.
- ``settle`` (client): the acks of a consumer's batch: one span, the child of the first
  sampled message's context, linked to the others'.

Work in a trace that is not sampled gets no span at all (the sampler follows the parent: it
would make none that records); its context is passed on. With tracing off (:mod:`.otel`) only
the metrics are recorded; with ``EDN_METRICS=0`` too, each helper costs a test or two.
"""

from __future__ import annotations

import time
from collections import Counter
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
    with _spans("send", [(r.topic, r.envelope) for r in rows], "PRODUCER", per_trace=True):
        yield confirmed
    if metrics.enabled():
        name = metrics.system()
        metrics.child(metrics.OPERATION_DURATION, name, "send").observe(time.perf_counter() - start)
        sent = Counter(row.topic for row in rows[: confirmed[0] if confirmed else 0])
        for topic, count in sent.items():
            metrics.child(metrics.SENT, name, topic).inc(count)


@contextmanager
def settling(destination: str, bodies: Iterable) -> Iterator[None]:
    """Around the acks of a consumer's batch of broker messages (their ``bodies``)."""
    start = time.perf_counter()
    with _spans("settle", [(destination, body) for body in bodies], "CLIENT", per_trace=False):
        yield
    if metrics.enabled():
        metrics.child(metrics.OPERATION_DURATION, metrics.system(), "settle").observe(
            time.perf_counter() - start
        )


class Processed:
    """A consumer's processing of ``events``, as a context manager: timed, and with tracing
    on, in a ``process`` span (one for several events: the child of the first one's creation,
    linked to each). The caller sets :attr:`outcome` inside; ``record=False`` leaves the
    metrics to the caller (:func:`recorded`, once its transaction committed)."""

    __slots__ = (
        "_scope",
        "_span",
        "_start",
        "consumer",
        "events",
        "outcome",
        "record",
        "seconds",
    )

    def __init__(self, consumer: str, events: Sequence[IntegrationEvent], record: bool) -> None:
        self.consumer, self.events, self.record = consumer, events, record
        self.outcome, self.seconds = "handled", 0.0
        self._scope = self._span = None  # with tracing on: the process span's block, its span

    def __enter__(self) -> Processed:
        if otel.enabled():
            from edn_core.observability.messaging_spans import process_span

            self._scope = process_span(self.consumer, self.events)
            self._span = self._scope.__enter__()  # None: not sampled
        self._start = time.perf_counter()
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        self.seconds = time.perf_counter() - self._start
        if self._span is not None and self.outcome != "handled":
            self._span.set_attribute("edn.outcome", self.outcome)
        if self._scope is not None:
            self._scope.__exit__(kind, error, traceback)
        if self.record and kind is None:
            recorded([self])
        return False


def processing(consumer: str, event: IntegrationEvent, *, record: bool = True) -> Processed:
    """Around one consumer's processing of ``event``."""
    return Processed(consumer, [event], record)


def processing_many(
    consumer: str, events: Sequence[IntegrationEvent], *, record: bool = True
) -> Processed:
    """Around one consumer's processing of ``events`` at once (a batch handler)."""
    return Processed(consumer, events, record)


def recorded(done: Iterable[Processed]) -> None:
    """Count finished processing (outcome, duration, lag) in the metrics."""
    if not metrics.enabled():
        return
    now, name = time.time(), metrics.system()
    counts: Counter = Counter()
    for processed in done:
        consumer, events = processed.consumer, processed.events
        metrics.child(metrics.PROCESS_DURATION, events[0].topic, consumer).observe(
            processed.seconds
        )
        for event in events:
            lag = metrics.child(metrics.CONSUMER_LAG, event.topic, consumer)
            lag.observe(now - event.time.timestamp())
            counts[event.topic, consumer, processed.outcome] += 1
    for (topic, consumer, outcome), count in counts.items():
        metrics.child(metrics.CONSUMED, name, topic, consumer, outcome).inc(count)
        if outcome == "duplicate":
            metrics.child(metrics.DUPLICATES, consumer).inc(count)


def _spans(operation: str, items: list[tuple[str, object]], kind: str, *, per_trace: bool):
    if not otel.enabled():
        return nullcontext()
    from edn_core.observability import messaging_spans

    build = messaging_spans.spans_per_trace if per_trace else messaging_spans.one_span
    return build(operation, items, kind)
