"""Observability: OpenTelemetry traces (:mod:`.otel`, messaging spans in :mod:`.messaging`),
Prometheus metrics (:mod:`.metrics`, scrape-time figures in :mod:`.collectors`, served by
:mod:`.exposition`) and structured logs (:mod:`.logs`). See docs/observability.md."""
