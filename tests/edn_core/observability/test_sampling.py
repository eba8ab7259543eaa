"""The sampler drops database spans a relay's or a consumer's idle polling would start as
traces of their own, and samples everything else as the configured sampler says."""

from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Decision
from opentelemetry.trace import SpanKind

from edn_core.observability.sampling import OrphanClientSpansDropped
from edn_core.observability.spans import span_context

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _decision(kind, parent=None):
    sampler = OrphanClientSpansDropped(ALWAYS_ON)
    context = span_context(parent) if parent else None
    return sampler.should_sample(context, 0x1234, "SELECT", kind).decision


def test_a_client_span_without_parent_is_dropped():
    assert _decision(SpanKind.CLIENT) == Decision.DROP


def test_a_client_span_inside_a_trace_and_other_roots_are_sampled():
    assert _decision(SpanKind.CLIENT, PARENT) == Decision.RECORD_AND_SAMPLE
    assert _decision(SpanKind.SERVER) == Decision.RECORD_AND_SAMPLE
    assert _decision(SpanKind.PRODUCER) == Decision.RECORD_AND_SAMPLE


def test_otel_is_on_only_when_an_exporter_is_asked_for():
    from edn_core.observability.otel import requested

    assert not requested({})
    assert requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert requested({"OTEL_TRACES_EXPORTER": "console"})
    assert not requested({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "x"})
    assert not requested({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "x"})
