"""JSON log lines (EDN_LOG_FORMAT=json): one object a line, carrying the trace id of the
request that caused them."""

import io
import json
import logging

import pytest

from edn_core import tracing
from edn_core.observability.logs import ContextFilter, JsonFormatter, logging_config

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def json_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(service="orders"))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


def test_a_line_is_one_json_object_with_the_context(json_lines):
    context = tracing.MessageContext("corr-1", None, TRACEPARENT)
    with tracing.using(context):
        logging.getLogger("edn.test").warning("moved %d", 3, extra={"alias": "orders"})
    logging.getLogger("edn.test").error("outside")
    inside, outside = json_lines()
    assert inside["message"] == "moved 3" and inside["level"] == "WARNING"
    assert (inside["logger"], inside["service"], inside["alias"]) == (
        "edn.test",
        "orders",
        "orders",
    )
    assert inside["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert inside["span_id"] == "00f067aa0ba902b7"
    assert inside["correlation_id"] == "corr-1"
    assert inside["time"].endswith("+00:00")
    assert (outside["trace_id"], outside["correlation_id"]) == ("", "")


@pytest.mark.django_db(databases="__all__")
def test_a_requests_log_lines_carry_its_trace_id(anonymous, json_lines):
    response = anonymous.get("/api/orders/not-a-uuid", HTTP_TRACEPARENT=TRACEPARENT)
    assert response.status_code in (401, 404)
    lines = [line for line in json_lines() if line["logger"] == "django.request"]
    assert lines, json_lines()
    assert {line["trace_id"] for line in lines} == {"4bf92f3577b34da6a3ce929d0e0e4736"}


def test_exceptions_are_one_field_of_the_line(json_lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("edn.test").exception("failed")
    (line,) = json_lines()
    assert "ValueError: boom" in line["exception"] and "\n" not in json.dumps(line)


def test_the_format_is_checked():
    assert logging_config("json", "INFO", "x")["handlers"]["console"]["formatter"] == "json"
    with pytest.raises(ValueError, match="EDN_LOG_FORMAT"):
        logging_config("xml", "INFO", "x")
