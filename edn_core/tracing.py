"""Message context that travels with work: correlation, causation and W3C trace context.

An HTTP request (see :class:`MessageContextMiddleware`) or a delivered event sets the context;
the outbox copies it into every envelope it writes, so the consumer continues the same trace.
The W3C ``traceparent`` format is small and fixed (version-traceid-parentid-flags), so it is
parsed here rather than through a tracing SDK. With OpenTelemetry on
(:mod:`edn_core.observability.otel`), the active span gives the traceparent instead
(:func:`use_span_source`), so what the outbox records is the span the work runs in.
"""

from __future__ import annotations

import contextvars
import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace

__all__ = [
    "MessageContext",
    "MessageContextMiddleware",
    "active",
    "active_traceparent",
    "caused_by",
    "child_traceparent",
    "continuing",
    "current",
    "parsed",
    "use_span_source",
    "using",
]

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


@dataclass(frozen=True)
class MessageContext:
    correlation_id: str
    causation_id: str | None
    traceparent: str
    subject: str | None = None  # who asked (an authenticated user), when a person did


def child_traceparent(parent: str | None) -> str:
    """Return a traceparent for new work: same trace as ``parent`` (if valid), new span id."""
    match = _TRACEPARENT.match(parent or "")
    if match and match.group(1) != "0" * 32:
        trace_id, flags = match.group(1), match.group(3)
    else:
        trace_id, flags = secrets.token_hex(16), "01"
    return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"


def trace_id(traceparent: str) -> str | None:
    match = _TRACEPARENT.match(traceparent or "")
    return match.group(1) if match else None


def parsed(traceparent: str | None) -> tuple[int, int, int] | None:
    """``(trace id, span id, flags)`` of a valid traceparent; None for anything else (an
    all-zero id included)."""
    match = _TRACEPARENT.match(traceparent or "")
    if match is None:
        return None
    ids = int(match.group(1), 16), int(match.group(2), 16)
    return (*ids, int(match.group(3), 16)) if all(ids) else None


_current: contextvars.ContextVar[MessageContext | None] = contextvars.ContextVar(
    "edn_message_context", default=None
)


_span_source: Callable[[], str | None] | None = None
_quiet_if_unsampled: Callable[[], AbstractContextManager] = nullcontext


def use_span_source(
    source: Callable[[], str | None] | None,
    quiet_if_unsampled: Callable[[], AbstractContextManager] = nullcontext,
) -> None:
    """Take traceparents from ``source`` (the active tracing span's, or None outside one);
    ``quiet_if_unsampled()`` wraps a request's handling (no spans below an unsampled one)."""
    global _span_source, _quiet_if_unsampled
    _span_source, _quiet_if_unsampled = source, quiet_if_unsampled


def current() -> MessageContext:
    """Return the active context, or a fresh one (new correlation id and trace)."""
    context = _current.get()
    if _span_source is not None:  # tracing on: the active span, if any, is the parent
        traceparent = _span_source()
        if context is None:  # no request, no message: what is written starts a trace
            return MessageContext(str(uuid.uuid4()), None, traceparent or "")
        return replace(context, traceparent=traceparent) if traceparent else context
    if context is None:
        return MessageContext(str(uuid.uuid4()), None, child_traceparent(None))
    return context


def active() -> MessageContext | None:
    """The context of the request or message being handled, if any."""
    return _current.get()


def active_traceparent() -> str:
    """The traceparent of the work under way ("" outside a request, a message or a span)."""
    if _span_source is not None and (traceparent := _span_source()):
        return traceparent
    context = _current.get()
    return context.traceparent if context is not None else ""


@contextmanager
def using(context: MessageContext) -> Iterator[MessageContext]:
    """Make ``context`` the active one inside the block."""
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


class MessageContextMiddleware:
    """Start a context per request from ``traceparent`` and ``X-Correlation-ID`` headers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        correlation = request.headers.get("X-Correlation-ID") or str(uuid.uuid4())
        context = MessageContext(
            correlation[:64], None, _request_traceparent(request.headers.get("traceparent"))
        )
        with using(context), _quiet_if_unsampled():
            response = self.get_response(request)
            traceparent = current().traceparent  # the request's span, with tracing on
        # kept for what is logged about the request after the middleware (django.request)
        request.edn_context = replace(context, traceparent=traceparent)
        response["X-Correlation-ID"] = context.correlation_id
        response["traceparent"] = traceparent
        return response


def continuing(traceparent: str) -> str:
    """The traceparent for a message that continues the work ``traceparent`` names, when the
    batch it was handled in had other traces too: with tracing on, that context itself (the
    message's create span becomes its child); else a new span id in the same trace."""
    return traceparent if _span_source is not None else child_traceparent(traceparent)


def _request_traceparent(header: str | None) -> str:
    """A request's own traceparent: with tracing on, the caller's context as it came (the
    server span, when there is one, is active and wins; "" starts a trace); else a new span
    id in the caller's trace or in a new one."""
    if _span_source is None:
        return child_traceparent(header)
    return header if header and trace_id(header) else ""


def caused_by(event_id: str, correlation_id: str | None, traceparent: str | None) -> MessageContext:
    """Return the context for work caused by a received event (same correlation and trace)."""
    return MessageContext(
        correlation_id or str(uuid.uuid4()), event_id, child_traceparent(traceparent)
    )
