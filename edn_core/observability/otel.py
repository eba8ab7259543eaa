"""OpenTelemetry tracing, configured by the standard ``OTEL_*`` environment variables only.

Off unless an exporter is asked for (``OTEL_TRACES_EXPORTER``, or an OTLP endpoint in
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) and
``OTEL_SDK_DISABLED`` is not ``true``; off, nothing is imported and every messaging span
helper returns at its first line. On, the SDK reads the rest itself: service name and resource
(``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``; the hosted apps' names by default), the
sampler (``OTEL_TRACES_SAMPLER`` and ``_ARG``), the exporter's endpoint, headers and timeout,
the batch processor (``OTEL_BSP_*``). Requests get server spans (:mod:`.server_spans`),
queries the psycopg instrumentation's.
"""

from __future__ import annotations

import os
import re
from contextlib import nullcontext

from edn_core import tracing

__all__ = [
    "configure",
    "enabled",
    "excluded_paths",
    "install",
    "requested",
    "server_spans",
    "tracer",
    "unsampled",
]

EXCLUDED_URLS = "^/healthz$,^/readyz$,^/metrics$"
_state: dict = {"provider": None, "tracer": None, "follows_parent": False, "server_spans": True}


def requested(environ=os.environ) -> bool:
    """Whether the environment asks for traces to be exported."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = _exporter_names(environ)
    if exporters:
        return exporters != ["none"]
    return any(
        environ.get(name)
        for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def enabled() -> bool:
    return _state["tracer"] is not None


def tracer():
    """The platform's tracer (only while :func:`enabled`)."""
    return _state["tracer"]


def unsampled(traceparent: str) -> bool:
    """Whether work under ``traceparent`` is certainly not sampled (its flags say so and the
    sampler follows the parent): then the platform makes no span for it, only passes the
    context on."""
    return _state["follows_parent"] and len(traceparent) == 55 and not int(traceparent[-2:], 16) & 1


def configure(default_service: str = "") -> bool:
    """Install the SDK's tracer provider and the instrumentations once per process, if the
    environment asks for it; return whether tracing is on."""
    if _state["provider"] is not None or not requested():
        return enabled()
    from opentelemetry import trace
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from edn_core.observability.sampling import OrphanClientSpansDropped

    attributes = {}
    if default_service and not _names_service(os.environ):
        attributes[SERVICE_NAME] = default_service
    provider = TracerProvider(
        resource=Resource.create(attributes), sampler=OrphanClientSpansDropped.from_env()
    )
    for exporter in _exporters():
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _instrument()
    install(provider)
    return True


def install(provider) -> None:
    """Trace the platform's work with ``provider`` (tests give their own; None: off again)."""
    tracer = provider.get_tracer("edn_core") if provider is not None else None
    _state.update(provider=provider, tracer=tracer, follows_parent=_follows_parent(provider))
    if provider is None:
        tracing.use_span_source(None)
    else:
        tracing.use_span_source(_active_traceparent, _quiet_if_unsampled)


def _names_service(environ) -> bool:
    if environ.get("OTEL_SERVICE_NAME"):
        return True
    pairs = environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(",")
    return any(pair.split("=", 1)[0].strip() == "service.name" for pair in pairs)


def _exporter_names(environ) -> list[str]:
    raw = environ.get("OTEL_TRACES_EXPORTER", "")
    return [name.strip().lower() for name in raw.split(",") if name.strip()]


def _exporters() -> list:
    names = _exporter_names(os.environ) or ["otlp"]
    exporters = []
    for name in names:
        if name == "otlp":
            exporters.append(_otlp_exporter())
        elif name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporters.append(ConsoleSpanExporter())
        elif name != "none":
            raise ValueError(f"OTEL_TRACES_EXPORTER: {name!r} is not otlp, console or none")
    return exporters


def _otlp_exporter():
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
    )
    if protocol.strip() == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    elif protocol.strip() == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    else:
        raise ValueError(f"OTEL_EXPORTER_OTLP_PROTOCOL: {protocol!r} is not http/protobuf or grpc")
    return OTLPSpanExporter()


def _follows_parent(provider) -> bool:
    """Whether the sampler is parent-based (it never samples below an unsampled parent, so
    no span need be made there); seen through the platform's orphan-dropping wrapper."""
    if provider is None:
        return False
    from opentelemetry.sdk.trace.sampling import ParentBased

    sampler = provider.sampler
    return isinstance(getattr(sampler, "delegate", sampler), ParentBased)


def _disabled() -> set[str]:
    raw = os.environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "")
    return {name.strip() for name in raw.split(",") if name.strip()}


def _instrument() -> None:
    """The psycopg instrumentation (database spans), unless ``psycopg`` is named in
    ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` (the auto-instrumentation's variable); the server
    spans are :mod:`.server_spans`' (``django`` in that variable leaves them out)."""
    _state["server_spans"] = "django" not in _disabled()
    if "psycopg" not in _disabled():
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

        PsycopgInstrumentor().instrument(enable_commenter=False)


def server_spans() -> bool:
    """Whether requests get a server span."""
    return _state["tracer"] is not None and _state["server_spans"]


def excluded_paths() -> re.Pattern | None:
    """The paths left untraced: ``OTEL_PYTHON_DJANGO_EXCLUDED_URLS``, regular expressions
    separated by commas, any of which found in the path (default: the probes)."""
    raw = os.environ.get("OTEL_PYTHON_DJANGO_EXCLUDED_URLS", EXCLUDED_URLS)
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    return re.compile("|".join(parts)) if parts else None


def _quiet_if_unsampled():
    """Inside a span that records nothing, no instrumentation makes spans (the database
    queries of an unsampled request cost a wrapper call each, not a span each)."""
    from opentelemetry import trace
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    span = trace.get_current_span()
    if span.get_span_context().is_valid and not span.is_recording():
        return suppress_instrumentation()
    return nullcontext()


def _active_traceparent() -> str | None:
    from opentelemetry import trace

    from edn_core.observability.spans import traceparent_of

    span = trace.get_current_span()
    return traceparent_of(span) if span.get_span_context().is_valid else None
