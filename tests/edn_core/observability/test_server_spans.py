"""Server spans of HTTP requests (tracing on): named by the route Django matched, the caller's
context continued, the probes left out, and nothing recorded below an unsampled request."""

import pytest
from opentelemetry.trace import SpanKind

pytestmark = pytest.mark.django_db(databases="__all__")
CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_a_request_continues_its_callers_trace_under_its_route(api, spans):
    response = api.get("/api/orders", HTTP_TRACEPARENT=CALLER)
    (server,) = [s for s in spans.all() if s.kind == SpanKind.SERVER]
    assert server.name == "GET api/orders"
    assert f"{server.context.trace_id:032x}" == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert f"{server.parent.span_id:016x}" == "00f067aa0ba902b7"
    assert (server.attributes["url.path"], server.attributes["http.response.status_code"]) == (
        "/api/orders",
        response.status_code,
    )
    assert response["traceparent"].split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_probes_and_metrics_are_not_traced(anonymous, spans, settings):
    settings.DEBUG = True
    for path in ("/healthz", "/readyz", "/metrics"):
        assert anonymous.get(path).status_code == 200
    assert [s for s in spans.all() if s.kind == SpanKind.SERVER] == []


@pytest.mark.parametrize("path", ["/no/such/thing", "/api/no/such/thing"])
def test_an_unmatched_path_keeps_the_method_as_name(anonymous, spans, path):
    """Also under /api/, where a catch-all answers the 404 problem."""
    assert anonymous.get(path).status_code == 404
    (server,) = [s for s in spans.all() if s.kind == SpanKind.SERVER]
    assert server.name == "GET" and "http.route" not in server.attributes


def test_an_unsampled_request_records_nothing(api, unsampled_spans):
    response = api.get("/api/orders")
    assert response.status_code == 200 and unsampled_spans.all() == []
    assert not int(response["traceparent"][-2:], 16) & 1
