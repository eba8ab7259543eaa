"""The messaging spans themselves (imported only with tracing on): see :mod:`.messaging`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import replace

from opentelemetry.context import attach, detach
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import Link, SpanKind, get_current_span

from edn_core import tracing
from edn_core.envelope import IntegrationEvent
from edn_core.observability import otel
from edn_core.observability.metrics import system
from edn_core.observability.spans import grouped_by_trace, span_context, traceparent_of

__all__ = ["created_spans", "one_span", "process_span", "spans_per_trace"]
LINKS = 128  # the SDK's default limit of links per span

_TRACEPARENT = re.compile(r'"traceparent"\s*:\s*"(00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2})"')


def _attributes(operation: str, destination: str | None, **more) -> dict:
    attributes = {
        "messaging.system": system(),
        "messaging.operation.type": operation,
        "messaging.operation.name": operation,
    }
    if destination:
        attributes["messaging.destination.name"] = destination
    attributes.update({k.replace("__", "."): v for k, v in more.items() if v is not None})
    return attributes


def created_spans(built: Sequence[IntegrationEvent]) -> Sequence[IntegrationEvent]:
    """A ``create`` span per event, in the trace its traceparent names (or a new one); the
    events come back carrying their create span's context."""
    tracer, made = otel.tracer(), []
    for event in built:
        if otel.unsampled(event.traceparent):  # no span: the context passed on, unsampled
            made.append(replace(event, traceparent=tracing.child_traceparent(event.traceparent)))
            continue
        attributes = _attributes(
            "create",
            event.topic,
            messaging__message__id=event.id,
            messaging__message__conversation_id=event.correlation_id,
        )
        span = tracer.start_span(
            f"create {event.topic}",
            context=span_context(event.traceparent),
            kind=SpanKind.PRODUCER,
            attributes=attributes,
        )
        span.end()
        made.append(replace(event, traceparent=traceparent_of(span)))
    return made


@contextmanager
def process_span(consumer: str, events: Sequence[IntegrationEvent]):
    first = events[0]
    if all(otel.unsampled(e.traceparent) for e in events):
        # no span: the event's context is the active one (what the handler writes stays in
        # its trace, unsampled), and the instrumentations make none below it either
        token = attach(span_context(first.traceparent))
        try:
            with suppress_instrumentation():
                yield None
        finally:
            detach(token)
        return
    links = [Link(c) for e in events if (c := _remote(e.traceparent)) is not None]
    attributes = _attributes(
        "process",
        first.topic,
        messaging__consumer__group__name=consumer,
        messaging__message__id=first.id if len(events) == 1 else None,
        messaging__message__conversation_id=first.correlation_id,
        messaging__batch__message_count=len(events) if len(events) > 1 else None,
    )
    with otel.tracer().start_as_current_span(
        f"process {first.topic}",
        context=span_context(first.traceparent),
        kind=SpanKind.CONSUMER,
        attributes=attributes,
        links=links if len(events) > 1 else None,
    ) as span:  # an error escaping the block is recorded on the span
        yield span


def _remote(traceparent: str):
    context = get_current_span(span_context(traceparent)).get_span_context()
    return context if context.is_valid else None


@contextmanager
def spans_per_trace(operation: str, items: list[tuple[str, object]], kind: str):
    """``operation`` spans for the sampled traces among ``items`` (destination, envelope):
    one per trace, so that each sampled trace shows the operation."""
    spans = [
        _start(operation, destination, parents, kind)
        for destination, parents in grouped_by_trace(items, _TRACEPARENT)
    ]
    try:
        yield
    finally:
        for span in spans:
            span.end()


@contextmanager
def one_span(operation: str, items: list[tuple[str, object]], kind: str):
    """One ``operation`` span for all of ``items``, the child of the first sampled one's
    context, linked to the others' (at most ``LINKS``); none if none is sampled."""
    groups = grouped_by_trace(items, _TRACEPARENT)
    parents = [tp for _, traceparents in groups for tp in traceparents]
    destinations = {destination for destination, _ in groups}
    span = None
    if parents:
        destination = next(iter(destinations)) if len(destinations) == 1 else ""
        span = _start(operation, destination, parents[:LINKS], kind, len(parents))
    try:
        yield
    finally:
        if span is not None:
            span.end()


def _start(operation: str, destination: str, parents: list[str], kind: str, count: int = 0):
    links = [Link(c) for tp in parents if (c := _remote(tp)) is not None]
    count = count or len(parents)
    attributes = _attributes(
        operation,
        destination or None,
        messaging__batch__message_count=count if count > 1 else None,
    )
    return otel.tracer().start_span(
        f"{operation} {destination}" if destination else operation,
        context=span_context(parents[0]),
        kind=getattr(SpanKind, kind),
        attributes=attributes,
        links=links,
    )
