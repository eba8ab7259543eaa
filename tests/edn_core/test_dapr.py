"""The Dapr transport and app routes against Dapr's HTTP contract, with a fake sidecar.

The publisher runs the contract every Dapr publisher keeps (tests/edn_core/dapr_contract.py);
the gRPC one runs it in test_dapr_grpc.py.
"""

import json
from types import SimpleNamespace
from urllib.parse import unquote

import pytest

from edn_core import dapr_app
from edn_core.bus.subscriptions import subscribe, unsubscribe
from edn_core.bus.transports.dapr import DaprTransport, publish_runs
from edn_core.testing import EventBus
from tests.edn_core import dapr_fakes as fakes
from tests.edn_core.dapr_contract import DaprPublisherContract
from tests.edn_core.dapr_fakes import CLOUDEVENTS_JSON, EVENTS, TOKEN, TOPIC, post
from tests.edn_core.dapr_grpc_fakes import Call, Entry

DB = pytest.mark.django_db(databases="__all__")


class HttpSidecar:
    """The socket-level HTTP fake seen through the contract's interface."""

    def __init__(self, fake: fakes.FakeSidecar) -> None:
        self.fake, self._failing, self._bulk = fake, set(), False
        fake.answer = self._answer

    @property
    def calls(self) -> list[Call]:
        return [_as_call(request) for request in self.fake.requests]

    def contacts(self) -> int:
        return len(self.fake.requests)

    def fail_call(self, number: int) -> None:
        self._failing.add(number)

    def fail_bulk(self, failed: list[int] | None) -> None:
        self._bulk = failed

    def _answer(self, request):
        if len(self.fake.requests) in self._failing:
            return 500, {"errorCode": "ERR_PUBSUB_PUBLISH_MESSAGE"}
        if "/bulk/" in request.path and self._bulk is not False:
            ids = [entry["entryId"] for entry in request.json()]
            listed = [{"entryId": ids[i], "error": "broker said no"} for i in self._bulk or []]
            body = {"failedEntries": listed, "errorCode": "ERR_PUBSUB_PUBLISH_MESSAGE"}
            return 500, body if self._bulk is not None else b"gateway on fire"
        return 204, b""


def _as_call(request) -> Call:
    *_, pubsub, topic = (unquote(part) for part in request.path.split("/"))
    if "/bulk/" not in request.path:
        partition = {"partitionKey": request.query["metadata.partitionKey"][0]}
        entry = Entry(None, request.body, request.headers["content-type"], partition)
        return Call(request.path, False, pubsub, topic, [entry], request.headers)
    entries = [
        Entry(e["entryId"], json.dumps(e["event"]).encode(), e["contentType"], e["metadata"])
        for e in request.json()
    ]
    return Call(request.path, True, pubsub, topic, entries, request.headers)


@pytest.fixture
def app(settings, client):
    settings.ROOT_URLCONF = "tests.edn_core.dapr_urls"
    settings.APP_API_TOKEN = "app-secret"
    return client


class TestHttpPublisher(DaprPublisherContract):
    api, publisher, down_error = "http", DaprTransport, "ConnectError"

    @pytest.fixture
    def sidecar(self, settings):
        with fakes.FakeSidecar() as fake:
            settings.DAPR_HTTP_PORT, settings.DAPR_API_TOKEN = fake.port, "dapr-secret"
            yield HttpSidecar(fake)

    @pytest.fixture
    def no_sidecar(self, settings):
        settings.DAPR_HTTP_PORT = fakes.free_port()

    @DB
    def test_the_request_is_the_documented_one(self, sidecar):
        rows = fakes.address_changes(1) + fakes.address_changes(2, traceparent=fakes.TRACE)[1:]
        assert DaprTransport().publish(rows) == 3
        single, bulk = sidecar.fake.requests
        assert (single.method, single.path) == ("POST", f"/v1.0/publish/pubsub/{TOPIC}")
        assert single.query == {"metadata.partitionKey": [rows[0].aggregate_id]}
        assert bulk.path == f"/v1.0-alpha1/publish/bulk/pubsub/{TOPIC}"
        assert bulk.headers["content-type"] == "application/json"


def test_bulk_runs_never_mix_topics_traces_or_two_events_of_one_aggregate():
    def row(aggregate, topic="v1.A", trace="a" * 32, envelope=None):
        traced = json.dumps({"traceparent": f"00-{trace}-{'1' * 16}-01"})
        return SimpleNamespace(topic=topic, aggregate_id=aggregate, envelope=envelope or traced)

    rows = [row("1"), row("2"), row("1"), row("3", "v1.B"), row("4", "v1.B", "b" * 32)]
    rows += [row("5", "v1.B", "b" * 32, envelope="[]")]
    runs = [[o.row.aggregate_id for o in run] for run in publish_runs(rows, bulk=True)]
    assert runs == [["1", "2"], ["1"], ["3"], ["4"], ["5"]]
    assert [len(run) for run in publish_runs(rows[:2], bulk=False)] == [1, 1]


def test_the_subscription_document_has_one_item_per_topic(app, settings):
    subscribe(TOPIC, app="customers")(lambda event: None)
    try:
        document = app.get("/dapr/subscribe", headers=TOKEN).json()
        settings.EDN_DAPR_BULK_SUBSCRIBE = True
        bulk = app.get("/dapr/subscribe", headers=TOKEN).json()
    finally:
        unsubscribe("customers.<lambda>")
    # Other apps subscribe to other topics; two handlers of TOPIC still make one item.
    topics = [entry["topic"] for entry in document]
    assert len(topics) == len(set(topics)) and [e["topic"] for e in bulk] == topics
    (item,) = [entry for entry in document if entry["topic"] == TOPIC]
    assert (item["pubsubname"], item["topic"], item["route"]) == ("pubsub", TOPIC, EVENTS)
    assert item["deadLetterTopic"] == f"{TOPIC}.deadletter"
    assert item["metadata"] == {"rawPayload": "false"} and "bulkSubscribe" not in item
    assert all(entry["bulkSubscribe"]["enabled"] is True for entry in bulk)


@DB
@pytest.mark.parametrize(
    ("url", "body"),
    [(EVENTS, "{not json"), (EVENTS, '{"specversion": "1.0"}'), ("/dapr/events/v1.X", None)],
)
def test_what_is_not_a_valid_event_of_the_topic_is_dead_lettered_and_dropped(app, url, body):
    assert post(app, body or fakes.envelope(), url=url).json() == {"status": "DROP"}
    (dead,) = EventBus().dead_letters()
    assert dead.consumer == "edn.invalid-envelope"


@pytest.mark.parametrize("headers", [{}, {"dapr-api-token": "wrong"}])
def test_without_the_app_token_nothing_is_delivered(app, monkeypatch, headers):
    calls = []  # no django_db mark: touching a database would fail this test
    monkeypatch.setattr(dapr_app, "deliver", lambda raw: calls.append(raw))
    response = post(app, fakes.envelope(), headers=headers)
    assert response.status_code == 401 and response["Content-Type"] == "application/problem+json"
    assert app.get("/dapr/subscribe", headers=headers).status_code == 401
    assert calls == []


def test_a_database_outage_asks_the_sidecar_to_retry(app, monkeypatch):
    monkeypatch.setattr(dapr_app, "deliver", fakes.database_down_for(""))
    assert post(app, fakes.envelope()).json() == {"status": "RETRY"}  # a 200, never a 500


@DB
def test_bulk_delivery_answers_a_status_per_entry(app, monkeypatch):
    good, broken = fakes.envelope(), fakes.envelope()
    monkeypatch.setattr(dapr_app, "deliver", fakes.database_down_for(json.loads(broken)["id"]))
    ev = {"a": json.loads(good), "b": "garbage", "c": json.loads(broken)}
    entries = [{"entryId": i, "event": e, "contentType": CLOUDEVENTS_JSON} for i, e in ev.items()]
    bulk = {"entries": entries, "pubsubname": "pubsub", "topic": TOPIC, "metadata": {}}
    response = post(app, json.dumps(bulk), content_type="application/json")
    statuses = {s["entryId"]: s["status"] for s in response.json()["statuses"]}
    assert statuses == {"a": "SUCCESS", "b": "DROP", "c": "RETRY"}


def test_oversized_and_foreign_bodies_are_refused(app, settings):
    settings.EDN_DAPR_MAX_BODY_BYTES = 100
    assert post(app, "x" * 101).status_code == 413
    assert post(app, "{}", content_type="text/plain").status_code == 415
