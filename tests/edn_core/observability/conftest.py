import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from edn_core.observability import otel
from edn_core.observability.sampling import OrphanClientSpansDropped


class Spans:
    """The spans the platform finished, in the order they ended."""

    def __init__(self, exporter: InMemorySpanExporter, provider: TracerProvider) -> None:
        self.exporter, self.provider = exporter, provider

    def all(self) -> list:
        return list(self.exporter.get_finished_spans())

    def named(self, prefix: str) -> list:
        return [s for s in self.all() if s.name.startswith(prefix)]

    def tracer(self):
        return self.provider.get_tracer("tests")

    def clear(self) -> None:
        self.exporter.clear()


def _installed(ratio: float):
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        sampler=OrphanClientSpansDropped(ParentBased(TraceIdRatioBased(ratio)))
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    otel.install(provider)
    return Spans(exporter, provider)


@pytest.fixture
def spans():
    """Tracing on, every trace sampled, spans kept in memory."""
    yield _installed(1.0)
    otel.install(None)


@pytest.fixture
def unsampled_spans():
    """Tracing on, no trace sampled."""
    yield _installed(0.0)
    otel.install(None)
