"""A fake Dapr sidecar for the gRPC publisher: a real ``grpc.server`` on 127.0.0.1 serving the
SDK's own generated Dapr service (``DaprServicer`` / ``add_DaprServicer_to_server``; the
request and response messages live in ``pubsub_pb2`` in SDK 1.19), plus the HTTP health
endpoint that ``DaprClient()`` waits on.

It records every publish call (``calls``: the event bytes exactly as they arrived, content
types, publish metadata, invocation metadata) and fails on command: an error status for a
numbered call, ``failedEntries`` or an error status for the next bulk call, a held call that
answers only when the test releases it, UNIMPLEMENTED for ``BulkPublishEvent``.
"""

from __future__ import annotations

import threading
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from dapr.proto.runtime.v1 import dapr_pb2_grpc, pubsub_pb2
from google.protobuf import empty_pb2

HELD_LIMIT_SECONDS = 60  # only a client without a deadline waits this long (a stuck run)


@dataclass
class Entry:
    """One event as the sidecar received it."""

    entry_id: str | None  # None for PublishEvent
    body: bytes
    content_type: str
    metadata: dict[str, str]


@dataclass
class Call:
    """One publish call: ``PublishEvent``, ``BulkPublishEvent`` or ``BulkPublishEventAlpha1``
    (the HTTP tests record their requests in this shape too, with the path as ``method``)."""

    method: str
    bulk: bool
    pubsub: str
    topic: str
    entries: list[Entry]
    headers: dict[str, str] = field(default_factory=dict)  # gRPC invocation metadata


class HealthEndpoint:
    """``GET /v1.0/healthz/outbound`` on 127.0.0.1, answering ``status`` (204: ready)."""

    def __init__(self) -> None:
        self.status = 204
        self.probes: list[dict[str, str]] = []  # the headers of each probe
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/v1.0/healthz/outbound":
                    self.send_error(404)
                    return
                endpoint.probes.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(endpoint.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeGrpcSidecar(dapr_pb2_grpc.DaprServicer):
    """The sidecar's gRPC pub/sub API (``port``) and its health endpoint (``health.port``)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.health = HealthEndpoint()
        self.bulk_unimplemented = False
        self.held, self.released = threading.Event(), threading.Event()
        self._holding = False
        self._failing: dict[int, tuple[grpc.StatusCode, str]] = {}
        self._bulk_failure: list[int] | bool | None = False  # False: none scripted
        self._lock = threading.Lock()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        dapr_pb2_grpc.add_DaprServicer_to_server(self, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")

    def __enter__(self) -> FakeGrpcSidecar:
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.released.set()
        self.server.stop(grace=None).wait()
        self.health.close()

    # What tests script
    def fail_call(self, number: int, details: str = "ERR_PUBSUB_PUBLISH_MESSAGE: no") -> None:
        """Make publish call ``number`` (1-based) fail with INTERNAL."""
        self._failing[number] = (grpc.StatusCode.INTERNAL, details)

    def fail_bulk(self, failed: list[int] | None) -> None:
        """Answer the next bulk call with ``failedEntries`` at these indexes; ``None``: fail it
        whole with INTERNAL (what the runtime answers when any entry failed)."""
        self._bulk_failure = failed

    @contextmanager
    def holding(self):
        """Hold every publish call until the block ends (or HELD_LIMIT_SECONDS pass)."""
        self._holding = True
        try:
            yield self
        finally:
            self.released.set()

    def contacts(self) -> int:
        """How many requests of any kind reached the sidecar (publish calls, health probes)."""
        return len(self.calls) + len(self.health.probes)

    def published(self) -> list[bytes]:
        """Every event's bytes, in the order received (for checks on the published envelopes)."""
        return [entry.body for call in self.calls for entry in call.entries]

    # The Dapr service
    def PublishEvent(self, request, context):
        entry = Entry(None, request.data, request.data_content_type, dict(request.metadata))
        self._answer("PublishEvent", request, [entry], context)
        return empty_pb2.Empty()

    def BulkPublishEvent(self, request, context):
        if self.bulk_unimplemented:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "unknown method BulkPublishEvent")
        return self._bulk("BulkPublishEvent", request, context)

    def BulkPublishEventAlpha1(self, request, context):
        return self._bulk("BulkPublishEventAlpha1", request, context)

    def _bulk(self, method, request, context):
        entries = [
            Entry(e.entry_id, e.event, e.content_type, dict(e.metadata)) for e in request.entries
        ]
        self._answer(method, request, entries, context)
        failed, self._bulk_failure = self._bulk_failure, False
        if failed is None:
            context.abort(grpc.StatusCode.INTERNAL, "ERR_PUBSUB_PUBLISH_MESSAGE: bulk failed")
        listed = [entries[i] for i in failed or []]
        return pubsub_pb2.BulkPublishResponse(
            failedEntries=[
                pubsub_pb2.BulkPublishResponseFailedEntry(entry_id=e.entry_id, error="no")
                for e in listed
            ]
        )

    def _answer(self, method, request, entries, context) -> None:
        headers = {key: value for key, value in context.invocation_metadata()}
        with self._lock:
            bulk = method != "PublishEvent"
            self.calls.append(
                Call(method, bulk, request.pubsub_name, request.topic, entries, headers)
            )
            number = len(self.calls)
        if self._holding:
            self.held.set()
            if not self.released.wait(HELD_LIMIT_SECONDS):
                context.abort(grpc.StatusCode.UNKNOWN, "held past the limit: no client deadline")
            context.abort(grpc.StatusCode.UNKNOWN, "released by the test")
        if number in self._failing:
            context.abort(*self._failing[number])
