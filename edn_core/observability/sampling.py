"""The sampler: the one ``OTEL_TRACES_SAMPLER`` names, except for client spans with no
parent. A relay or a consumer polls its database between messages; the psycopg
instrumentation would make each poll a trace of its own. A query inside a request or a
message's processing has a parent and is sampled as its trace is."""

from __future__ import annotations

from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import SpanKind, get_current_span

__all__ = ["OrphanClientSpansDropped"]


class OrphanClientSpansDropped(Sampler):
    def __init__(self, delegate: Sampler) -> None:
        self.delegate = delegate

    @classmethod
    def from_env(cls) -> OrphanClientSpansDropped:
        from opentelemetry.sdk.trace.sampling import _get_from_env_or_default

        return cls(_get_from_env_or_default())

    def should_sample(
        self, parent_context, trace_id, name, kind=None, attributes=None, links=None
    ) -> SamplingResult:
        if (
            kind == SpanKind.CLIENT
            and not get_current_span(parent_context).get_span_context().is_valid
        ):
            return SamplingResult(Decision.DROP)
        return self.delegate.should_sample(parent_context, trace_id, name, kind, attributes, links)

    def get_description(self) -> str:
        return f"OrphanClientSpansDropped{{{self.delegate.get_description()}}}"
