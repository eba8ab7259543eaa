"""A stand-in for an OpenTelemetry collector: accepts OTLP/HTTP exports and discards them,
counting requests and bytes (the services pay for building and sending their spans; what a
collector does with them is its own machine's cost)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Sink", "variants"]


class Sink:
    def __init__(self) -> None:
        self.requests = self.bytes = 0
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length", 0))
                self.rfile.read(size)
                with sink.lock:
                    sink.requests += 1
                    sink.bytes += size
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Sink:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


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
