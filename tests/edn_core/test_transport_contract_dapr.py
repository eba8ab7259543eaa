"""The transport contract (tests/edn_core/transport_contract.py) and the Dapr publisher contract
(tests/edn_core/dapr_contract.py) for the Dapr transport, over the sidecar's HTTP API and over
its gRPC API, each against a fake sidecar on real sockets (tests/edn_core/conftest.py).

The consumer side plays the sidecar's delivery: it reads ``GET /dapr/subscribe`` once, as the
sidecar does at its start, then posts each published event to its topic's route through
Django's test client in the shape the sidecar delivers it (``dapr_fakes.as_delivered_by_dapr``),
and redelivers what the app answers ``RETRY``. The sidecar publishes the entries of a bulk call
in parallel, so they arrive in any order: here in reverse, so that two events of one aggregate
in one call would arrive swapped.
"""

import json
from collections import deque
from contextlib import contextmanager

import pytest

from edn_core import dapr_app
from edn_core.bus.transports.dapr import DaprTransport
from edn_core.bus.transports.dapr_grpc import DaprGrpcTransport
from tests.edn_core import dapr_fakes as fakes
from tests.edn_core.dapr_contract import DaprPublisherContract
from tests.edn_core.dapr_fakes import TOKEN, TOPIC, as_delivered_by_dapr, post
from tests.edn_core.transport_contract import Backend, fails_first
from tests.support.deployment import free_port

STATUSES = {"SUCCESS", "DROP", "RETRY"}
ROUNDS = 100  # deliveries before the suite calls the app stuck in RETRY


class DaprBackend(Backend):
    def __init__(self, publisher, sidecar, client, settings, monkeypatch, down: tuple) -> None:
        self.publisher, self.sidecar, self.client = publisher, sidecar, client
        self.settings, self.monkeypatch = settings, monkeypatch
        self.down_ports, self.down_error = down
        document = client.get("/dapr/subscribe", headers=TOKEN).json()
        self.routes = {item["topic"]: item["route"] for item in document}
        self.wire: deque[tuple[str, str]] = deque()  # (route, body) not yet delivered
        self.taken = 0  # publish calls already on the wire

    def transport(self):
        return self.publisher()

    def _take_published(self) -> None:
        calls = self.sidecar.calls
        for call in calls[self.taken :]:
            route = self.routes.get(call.topic)  # no subscription: nothing is delivered
            entries = reversed(call.entries) if call.bulk else call.entries
            if route:
                self.wire.extend((route, json.dumps(as_delivered_by_dapr(e.body))) for e in entries)
        self.taken = len(calls)

    def consume(self) -> None:
        self._take_published()
        for _ in range(ROUNDS):
            if not self.wire:
                return
            route, body = self.wire.popleft()
            status = post(self.client, body, url=route).json()["status"]
            assert status in STATUSES, status
            if status == "RETRY":
                self.redeliveries += 1
                self.wire.append((route, body))
        raise AssertionError(f"deliveries still asked for after {ROUNDS}")

    def units(self) -> list[int]:
        return [len(call.entries) for call in self.sidecar.calls]

    def send_raw(self, topic: str, body: str) -> None:
        self._take_published()
        self.wire.append((self.routes[topic], body))

    def stale_subscription(self, topic: str) -> None:
        self.routes[topic] = f"/dapr/events/{topic}"

    @contextmanager
    def down(self):
        saved = {name: getattr(self.settings, name) for name in self.down_ports}
        for name in self.down_ports:
            setattr(self.settings, name, free_port())
        try:
            yield self.down_error
        finally:
            for name, value in saved.items():
                setattr(self.settings, name, value)

    @contextmanager
    def refusing_from(self, number: int):
        self.sidecar.fail_call(len(self.sidecar.calls) + number)
        yield

    @contextmanager
    def consumer_database_down(self, times: int):
        with self.monkeypatch.context() as patch:
            patch.setattr(dapr_app, "deliver", fails_first(times, dapr_app.deliver))
            yield


@pytest.fixture
def dapr_client(settings, client):
    """Django's test client on the project's URLs plus the Dapr routes, as the sidecar calls."""
    settings.ROOT_URLCONF = "tests.edn_core.dapr_urls"
    settings.APP_API_TOKEN = TOKEN["dapr-api-token"]
    return client


class TestDaprOverHttp(DaprPublisherContract):
    api, publisher = "http", DaprTransport

    @pytest.fixture
    def backend(self, http_sidecar, dapr_client, settings, monkeypatch):
        down = (["DAPR_HTTP_PORT"], "^DaprPublishError: ConnectError")
        return DaprBackend(self.publisher, http_sidecar, dapr_client, settings, monkeypatch, down)

    def test_the_request_is_the_documented_one(self, backend):
        rows = fakes.address_changes(1) + fakes.address_changes(2, traceparent=fakes.TRACE)[1:]
        assert DaprTransport().publish(rows) == 3
        single, bulk = backend.sidecar.requests
        assert (single.method, single.path) == ("POST", f"/v1.0/publish/pubsub/{TOPIC}")
        assert single.query == {"metadata.partitionKey": [rows[0].aggregate_id]}
        assert bulk.path == f"/v1.0-alpha1/publish/bulk/pubsub/{TOPIC}"
        assert bulk.headers["content-type"] == "application/json"


class TestDaprOverGrpc(DaprPublisherContract):
    api, publisher = "grpc", DaprGrpcTransport
    bulk_bytes_kept = True

    @pytest.fixture
    def backend(self, grpc_sidecar, dapr_client, settings, monkeypatch):
        down = (["DAPR_HTTP_PORT", "DAPR_GRPC_PORT"], "^DaprPublishError: dapr sidecar not ready")
        return DaprBackend(self.publisher, grpc_sidecar, dapr_client, settings, monkeypatch, down)
