"""Transport through a Dapr sidecar's gRPC API, with the Dapr Python SDK's gRPC client.

The contract is the HTTP publisher's (``edn_core.bus.transports.dapr``): the same runs, one event
by ``PublishEvent`` with ``data_content_type`` ``application/cloudevents+json`` (the sidecar
keeps our envelope), a run by ``BulkPublishEvent`` (the SDK falls back to
``BulkPublishEventAlpha1`` on sidecars without it) whose entries are the stored envelope bytes.
The envelope's ``traceparent`` travels as gRPC metadata, which the sidecar reads when there is no
``grpc-trace-bin``, so its span is a child of ours. A bulk request the sidecar did not fully
publish fails as a whole over gRPC (the runtime answers an error status, never the failed
entries); an answer listing ``failedEntries`` still confirms the prefix before the first one.

Making a client waits for the sidecar's HTTP ``/v1.0/healthz/outbound`` first, up to the SDK's
``DAPR_HEALTH_TIMEOUT`` (60 s). So the client is made on the first publish, never at import or
construction, and that wait lasts at most ``EDN_DAPR_HEALTH_TIMEOUT_SECONDS``: a sidecar that
is not up fails the publish with a clear error (the relay records it on the row), and the next
publish waits again. It is ``DaprGrpcClient``, the part of ``DaprClient`` that speaks gRPC:
``DaprClient`` adds an HTTP client for service invocation, which waits for the sidecar again.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from contextlib import contextmanager
from contextvars import ContextVar

import grpc
from dapr.clients import BulkPublishEntry
from dapr.clients.grpc.client import DaprGrpcClient
from dapr.conf import settings as sdk_settings

from edn_core.bus.transports.dapr import (
    CLOUDEVENTS_JSON,
    DaprPublisher,
    Outgoing,
    confirmed_prefix,
)
from edn_core.conf import edn_settings

__all__ = ["DaprGrpcTransport"]

_call_metadata: ContextVar[tuple[tuple[str, str], ...]] = ContextVar("dapr_call", default=())
_sdk_settings_lock = threading.Lock()
_UNSET = object()


class _CallDetails(
    namedtuple("_CallDetails", "method timeout metadata credentials wait_for_ready compression"),
    grpc.ClientCallDetails,
):
    pass


class _CallOptions(grpc.UnaryUnaryClientInterceptor):
    """Give every call a deadline and the metadata of the publish in progress (its trace)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    def intercept_unary_unary(self, continuation, details, request):
        metadata = [*(details.metadata or ()), *_call_metadata.get()]
        return continuation(
            _CallDetails(
                details.method,
                self.timeout if details.timeout is None else details.timeout,
                metadata,
                details.credentials,
                details.wait_for_ready,
                details.compression,
            ),
            request,
        )


@contextmanager
def _sdk_settings_while(**values):
    """Apply ``values`` to the SDK's process-wide settings while a client is made (it reads
    them then), and put the previous ones back: other SDK users keep their configuration."""
    with _sdk_settings_lock:
        saved = {name: vars(sdk_settings).get(name, _UNSET) for name in values}
        for name, value in values.items():
            setattr(sdk_settings, name, value)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is _UNSET:
                    delattr(sdk_settings, name)
                else:
                    setattr(sdk_settings, name, value)


class SidecarNotReady(RuntimeError):
    """The sidecar's health endpoint did not answer within EDN_DAPR_HEALTH_TIMEOUT_SECONDS."""


class DaprGrpcTransport(DaprPublisher):
    """Publish outbox rows through the sidecar's gRPC API (``DAPR_HOST``:``DAPR_GRPC_PORT``).

    Constructing it opens no connection and waits for nothing; calls time out after
    ``EDN_DAPR_TIMEOUT_SECONDS``.
    """

    def __init__(self) -> None:
        found = edn_settings()
        self.sidecar = found.sidecar
        self.host = self.sidecar.host
        self.pubsub = found.dapr.pubsub
        self.bulk = self.sidecar.bulk_publish
        self.timeout = self.sidecar.timeout_seconds
        self.client: DaprGrpcClient | None = None
        self._connecting = threading.Lock()

    def close(self) -> None:
        with self._connecting:
            client, self.client = self.client, None
        if client is not None:
            client.close()

    def _connected(self) -> DaprGrpcClient:
        with self._connecting:
            if self.client is None:
                self.client = self._connect()
            return self.client

    def _connect(self) -> DaprGrpcClient:
        token = self.sidecar.api_token or None
        http_port, grpc_port = self.sidecar.http_port, self.sidecar.grpc_port
        health_timeout = self.sidecar.health_timeout_seconds
        with _sdk_settings_while(
            DAPR_RUNTIME_HOST=self.host,
            DAPR_HTTP_PORT=http_port,
            DAPR_HTTP_ENDPOINT=None,  # the health check goes to DAPR_HOST:DAPR_HTTP_PORT
            DAPR_API_TOKEN=token,
            DAPR_HEALTH_TIMEOUT=health_timeout,
        ):
            try:
                return DaprGrpcClient(
                    address=f"{self.host}:{grpc_port}",
                    interceptors=[_CallOptions(self.timeout)],
                )
            except TimeoutError as exc:
                raise SidecarNotReady(
                    f"dapr sidecar not ready: http://{self.host}:{http_port}"
                    f"/v1.0/healthz/outbound did not answer 2xx within {health_timeout:g} s"
                ) from exc

    def _publish_run(self, run: list[Outgoing]) -> tuple[int, str | None]:
        first = run[0]
        trace = (("traceparent", first.event["traceparent"]),) if first.trace_id else ()
        reset = _call_metadata.set(trace)
        try:
            return self._send_run(self._connected(), run)
        except grpc.RpcError as exc:  # DaprGrpcError, raised by the SDK for any failed call
            return 0, f"dapr answered {exc.code().name}: {exc.details()}"[:1000]
        except SidecarNotReady as exc:
            return 0, str(exc)
        finally:
            _call_metadata.reset(reset)

    def _send_run(self, client: DaprGrpcClient, run: list[Outgoing]) -> tuple[int, str | None]:
        first = run[0].row
        if len(run) == 1:
            client.publish_event(
                self.pubsub,
                first.topic,
                data=first.envelope.encode("utf-8"),
                data_content_type=CLOUDEVENTS_JSON,
                publish_metadata={"partitionKey": first.aggregate_id},
            )
            return 1, None
        entries = [
            BulkPublishEntry(
                event=o.row.envelope.encode("utf-8"),
                metadata={"partitionKey": o.row.aggregate_id},
                content_type=CLOUDEVENTS_JSON,
                entry_id=str(o.row.event_id),
            )
            for o in run
        ]
        failed = client.publish_events(self.pubsub, first.topic, entries).failed_entries
        if not failed:
            return len(run), None
        reasons = "; ".join(f"{f.entry_id}: {f.error}" for f in failed)[:1000]
        ids = [entry.entry_id for entry in entries]
        return confirmed_prefix(ids, {f.entry_id for f in failed}), f"failed entries: {reasons}"
