"""Log records as JSON objects, one a line (``EDN_LOG_FORMAT=json``, the default in
production): time, level, logger, message, service, and what ties a line to its cause --
the trace and span ids and the correlation id of the request or message being handled."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime

from edn_core import tracing

__all__ = ["ContextFilter", "JsonFormatter", "PlainFormatter", "logging_config"]

_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}


class ContextFilter(logging.Filter):
    """Adds ``trace_id``, ``span_id`` and ``correlation_id`` to every record (empty outside
    a request or a message)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context, traceparent = tracing.active(), tracing.active_traceparent()
        if context is None:  # django.request logs a response after the request's context
            context = getattr(getattr(record, "request", None), "edn_context", None)
            traceparent = context.traceparent if context is not None else ""
        parts = traceparent.split("-")
        record.trace_id = parts[1] if len(parts) == 4 else ""
        record.span_id = parts[2] if len(parts) == 4 else ""
        record.correlation_id = context.correlation_id if context is not None else ""
        return True


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str = "") -> None:
        super().__init__()
        self.service = service or os.environ.get("OTEL_SERVICE_NAME", "")

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
            "trace_id": getattr(record, "trace_id", ""),
            "span_id": getattr(record, "span_id", ""),
            "correlation_id": getattr(record, "correlation_id", ""),
        }
        for key, value in record.__dict__.items():  # extra={...} of the call
            if key not in _STANDARD and key not in line:
                line[key] = value if isinstance(value, (str, int, float, bool)) else repr(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    """Readable lines for development; the trace id (first 8 digits) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        trace = getattr(record, "trace_id", "")
        record.trace = f" [{trace[:8]}]" if trace else ""
        return super().format(record)


def logging_config(form: str, level: str, service: str) -> dict:
    """Django's ``LOGGING`` for ``form`` (json or plain)."""
    if form not in ("json", "plain"):
        raise ValueError(f"EDN_LOG_FORMAT: {form!r} is not json or plain")
    formatters = {
        "json": {"()": JsonFormatter, "service": service},
        "plain": {
            "()": PlainFormatter,
            "format": "%(asctime)s %(levelname)s %(name)s%(trace)s %(message)s",
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {form: formatters[form]},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": form,
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's own handlers go (its console one in DEBUG, runserver's request lines):
            # its records reach the root handler once, in this format
            "django": {"handlers": [], "propagate": True},
            "django.db.backends": {"level": "WARNING"},
            "httpx": {"level": "WARNING"},
        },
    }
