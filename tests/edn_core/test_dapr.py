"""The Dapr app routes against Dapr's HTTP contract (what the sidecar sends the app), and how
the publishers split rows into runs. The publishers themselves run the transport contract and
the Dapr publisher contract in tests/edn_core/test_transport_contract_dapr.py.
"""

import json
from types import SimpleNamespace

import pytest

from edn_core import dapr_app
from edn_core.bus.subscriptions import subscribe, unsubscribe
from edn_core.bus.transports.dapr import publish_runs
from edn_core.testing import EventBus
from tests.edn_core import dapr_fakes as fakes
from tests.edn_core.dapr_fakes import CLOUDEVENTS_JSON, EVENTS, TOKEN, TOPIC, post

DB = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def app(settings, client):
    settings.ROOT_URLCONF = "tests.edn_core.dapr_urls"
    settings.APP_API_TOKEN = "app-secret"
    return client


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
