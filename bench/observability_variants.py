"""The environments bench/observability.py compares. Their traces go to a stand-in for a
collector (``tests.support.otlp.OtlpReceiver(keep=False)``): the services pay for building
and sending their spans; what a collector does with them is its own machine's cost."""

from __future__ import annotations

__all__ = ["variants"]


def variants(endpoint: str) -> dict[str, dict[str, str | None]]:
    """The environments compared: everything off; metrics only; metrics and traces sampled
    at 10 %; metrics and every trace sampled (exporting to ``endpoint``)."""
    off = {"EDN_METRICS": "0", "OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": None}
    traced = {
        "EDN_METRICS": "1",
        "OTEL_SDK_DISABLED": None,
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
    }
    return {
        "off": off,
        "metrics": {**off, "EDN_METRICS": "1"},
        "metrics+traces 10%": {
            **traced,
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.1",
        },
        "metrics+traces 100%": {**traced, "OTEL_TRACES_SAMPLER": "parentbased_always_on"},
    }
