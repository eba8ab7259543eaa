"""The Dapr transport and app routes against Dapr's HTTP contract, with a fake sidecar."""

import json
import time
from types import SimpleNamespace

import pytest

from customers.models import OutboxMessage as CustomerOutbox
from edn_core import dapr_app
from edn_core.bus.relay import PublishFailed, relay_batch
from edn_core.bus.stores import store_for
from edn_core.bus.subscriptions import subscribe, unsubscribe
from edn_core.bus.transports import TRANSPORTS, get_transport
from edn_core.bus.transports.dapr import DaprPublishError, DaprTransport, publish_runs
from edn_core.testing import EventBus
from orders.models import OrderRecord
from tests.edn_core import dapr_fakes as fakes
from tests.edn_core.dapr_fakes import CLOUDEVENTS_JSON, EVENTS, TOKEN, TOPIC, TRACE, post

DB = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def sidecar(settings):
    with fakes.FakeSidecar() as fake:
        settings.DAPR_HTTP_PORT, settings.DAPR_API_TOKEN = fake.port, "dapr-secret"
        yield fake


@pytest.fixture
def app(settings, client):
    settings.ROOT_URLCONF = "tests.edn_core.dapr_urls"
    settings.APP_API_TOKEN = "app-secret"
    return client


@DB
@pytest.mark.parametrize("token", ["dapr-secret", ""])
def test_each_row_is_posted_unchanged_as_a_cloudevent(sidecar, settings, token):
    settings.DAPR_API_TOKEN = token
    rows = fakes.address_changes(2)  # two commands, two traces: no bulk
    assert DaprTransport().publish(rows) == 2
    for row, request in zip(rows, sidecar.requests, strict=True):
        assert (request.method, request.path) == ("POST", f"/v1.0/publish/pubsub/{TOPIC}")
        assert request.headers["content-type"] == CLOUDEVENTS_JSON
        assert request.body == row.envelope.encode()
        assert request.headers.get("dapr-api-token") == (token or None)
        assert request.headers["traceparent"] == json.loads(row.envelope)["traceparent"]
        assert request.query == {"metadata.partitionKey": [row.aggregate_id]}


@DB
def test_the_relay_marks_exactly_the_rows_the_sidecar_confirmed(sidecar):
    fakes.address_changes(4)
    sidecar.answer = lambda request: (500, {}) if len(sidecar.requests) == 3 else (204, b"")
    with pytest.raises(PublishFailed, match="not confirmed"):
        relay_batch(store_for("customers"), DaprTransport())
    rows = list(CustomerOutbox.objects.order_by("id"))
    assert [r.sent_at is not None for r in rows] == [True, True, False, False]
    assert len(sidecar.requests) == 3 and rows[2].attempts == 1


@DB
def test_a_sidecar_that_is_not_there_confirms_nothing(settings):
    settings.DAPR_HTTP_PORT = fakes.free_port()
    rows = fakes.address_changes(1)
    with pytest.raises(DaprPublishError, match="ConnectError"):
        DaprTransport().publish(rows)
    with pytest.raises(PublishFailed, match="ConnectError"):
        relay_batch(store_for("customers"), DaprTransport())
    row = CustomerOutbox.objects.get()
    assert row.sent_at is None and "ConnectError" in row.last_error


@DB
def test_a_run_of_one_topic_and_one_trace_is_published_in_bulk(sidecar):
    rows = fakes.address_changes(3, traceparent=TRACE)
    assert DaprTransport().publish(rows) == 3
    (request,) = sidecar.requests
    assert request.path == f"/v1.0-alpha1/publish/bulk/pubsub/{TOPIC}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["traceparent"] == TRACE
    assert request.headers["dapr-api-token"] == "dapr-secret"
    entries = request.json()
    assert [e["entryId"] for e in entries] == [str(row.event_id) for row in rows]
    assert [e["event"] for e in entries] == [json.loads(row.envelope) for row in rows]
    assert [e["contentType"] for e in entries] == [CLOUDEVENTS_JSON] * 3
    assert [e["metadata"] for e in entries] == [{"partitionKey": r.aggregate_id} for r in rows]


@DB
@pytest.mark.parametrize(("failed", "sent"), [([3, 1], 1), ([0], 0), (None, 0)])
def test_bulk_failures_confirm_only_the_prefix_before_the_first_failed_entry(sidecar, failed, sent):
    rows = fakes.address_changes(4, traceparent=TRACE)
    ids = [str(row.event_id) for row in rows]
    listed = [{"entryId": ids[i], "error": "broker said no"} for i in failed or []]
    body = {"failedEntries": listed, "errorCode": "ERR_PUBSUB_PUBLISH_MESSAGE"}
    sidecar.answer = lambda request: (500, body if failed else b"gateway on fire")
    with pytest.raises(PublishFailed):
        relay_batch(store_for("customers"), DaprTransport())
    marks = [r.sent_at is not None for r in CustomerOutbox.objects.order_by("id")]
    assert marks == [True] * sent + [False] * (4 - sent) and len(sidecar.requests) == 1


def test_bulk_runs_never_mix_topics_traces_or_two_events_of_one_aggregate():
    def row(aggregate, topic="v1.A", trace="a" * 32, envelope=None):
        traced = json.dumps({"traceparent": f"00-{trace}-{'1' * 16}-01"})
        return SimpleNamespace(topic=topic, aggregate_id=aggregate, envelope=envelope or traced)

    rows = [row("1"), row("2"), row("1"), row("3", "v1.B"), row("4", "v1.B", "b" * 32)]
    rows += [row("5", "v1.B", "b" * 32, envelope="[]")]
    runs = [[o.row.aggregate_id for o in run] for run in publish_runs(rows, bulk=True)]
    assert runs == [["1", "2"], ["1"], ["3"], ["4"], ["5"]]
    assert [len(run) for run in publish_runs(rows[:2], bulk=False)] == [1, 1]


def test_the_configured_transport_is_built_without_waiting_for_a_sidecar(settings, monkeypatch):
    monkeypatch.setitem(TRANSPORTS, "dapr", "edn_core.bus.transports.dapr.DaprTransport")
    settings.EDN_BUS_TRANSPORT, settings.DAPR_HTTP_PORT = "dapr", fakes.free_port()
    get_transport.cache_clear()
    started = time.monotonic()
    try:
        assert isinstance(get_transport(), DaprTransport)
    finally:
        get_transport.cache_clear()
    assert time.monotonic() - started < 0.5


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
def test_an_event_from_the_outbox_reaches_orders_once(app, sidecar, monkeypatch):
    customer, order = fakes.customer_with_order()
    fakes.change_address(customer, **{**fakes.ADDRESS, "street": "1 Sidecar St"})
    relay_batch(store_for("customers"), DaprTransport())
    delivered = json.dumps(fakes.as_delivered_by_dapr(sidecar.requests[0].body))
    outcomes, real = [], dapr_app.deliver
    monkeypatch.setattr(dapr_app, "deliver", lambda raw: outcomes.append(real(raw)))
    assert [post(app, delivered).json() for _ in range(2)] == [{"status": "SUCCESS"}] * 2
    consumer = "orders.update_shipping_address_of_open_orders"
    assert outcomes == [{consumer: "handled"}, {consumer: "duplicate"}]
    assert OrderRecord.objects.get(pk=order.id).ship_street == "1 Sidecar St"


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
