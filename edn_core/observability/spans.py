"""W3C trace context to and from OpenTelemetry's types (only imported with tracing on)."""

from __future__ import annotations

import re

from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

from edn_core import tracing

__all__ = ["grouped_by_trace", "span_context", "traceparent_of"]

_EMPTY = Context()


def span_context(traceparent: str | None) -> Context:
    """A context whose span is the remote one ``traceparent`` names; an empty context (a new
    trace) when it names none."""
    found = tracing.parsed(traceparent)
    if found is None:
        return _EMPTY
    trace_id, span_id, flags = found
    remote = SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(flags))
    return set_span_in_context(NonRecordingSpan(remote), _EMPTY)


def traceparent_of(span) -> str:
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def grouped_by_trace(items, pattern: re.Pattern) -> list[tuple[str, list[str]]]:
    """``items`` (destination, envelope text or bytes) grouped by sampled trace: for each, the
    destination they share ("" if several) and the traceparents, in order. An envelope may
    hold several events (a batch): each counts."""
    groups: dict[str, tuple[set[str], list[str]]] = {}
    for destination, envelope in items:
        text = envelope.decode("utf-8", "replace") if isinstance(envelope, bytes) else envelope
        for traceparent in pattern.findall(text if isinstance(text, str) else ""):
            if not int(traceparent[-2:], 16) & 1:  # not sampled: no span
                continue
            destinations, parents = groups.setdefault(traceparent[3:35], (set(), []))
            destinations.add(destination)
            parents.append(traceparent)
    return [
        (next(iter(destinations)) if len(destinations) == 1 else "", parents)
        for destinations, parents in groups.values()
    ]
