"""Fuzzing the consume entry points with hypothesis: the Celery consumer step (what a broker
message's body and headers may be) and the Dapr delivery route (single and bulk deliveries,
the app token, any body and header). Properties, checked after every example:

- nothing raises: the Celery step acks every message (the database is up, so no requeue);
  the Dapr route answers 2xx with SUCCESS or DROP (never RETRY with the database up), or a 4xx
  problem for a request that is itself malformed or unauthenticated -- never a 5xx;
- every good event is applied exactly once by each handler (inbox row, handler effect,
  checkpoint), also beside bad neighbours in a batch; a redelivery (an id seen before, other
  data) has no second effect;
- every bad event is dead-lettered (kept in a failed-delivery row with status dead, nothing
  left to retry) and leaves no inbox row, no handler effect and no checkpoint behind.

Examples are derandomized (the same ones every run) and bounded so that CI stays fast:
``EDN_FUZZ_CONSUME_EXAMPLES`` (default 200) for the Celery step and for any request to the
Dapr route, half as many each for single and bulk Dapr deliveries (400 for the route in all).
Raise it for a longer run; ``EDN_FUZZ_CONSUME_SEED`` draws other examples (docs/fuzzing.md).
"""

import json
import os
from contextlib import ExitStack, contextmanager
from typing import Any
from urllib.parse import quote

import pytest
from django.db import transaction
from hypothesis import HealthCheck, assume, given, seed, settings
from hypothesis import strategies as st

from edn_core import schemas
from edn_core.bus.batch import deliver_batch
from edn_core.bus.celery_consumer import MessageBatch
from edn_core.bus.stores import all_stores
from edn_core.bus.subscriptions import subscribe, unsubscribe
from orders.models import AggregateCheckpoint, InboxEntry
from tests.edn_core.fuzz_events import SCHEMA, TOPIC, Message, scenarios

pytestmark = pytest.mark.django_db(databases="__all__")
EXAMPLES = int(os.environ.get("EDN_FUZZ_CONSUME_EXAMPLES", "200"))
SEED = os.environ.get("EDN_FUZZ_CONSUME_SEED")  # other examples than the fixed ones
HEALTH = [
    HealthCheck.function_scoped_fixture,
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.filter_too_much,
]


def fuzz(examples: int):
    """The fuzzer's settings: ``examples`` derandomized examples, or seeded by
    ``EDN_FUZZ_CONSUME_SEED`` when it is set."""

    def apply(test):
        bounded = settings(
            max_examples=examples,
            derandomize=SEED is None,
            database=None,
            deadline=None,
            suppress_health_check=HEALTH,
        )
        return bounded(seed(int(SEED))(test) if SEED else test)

    return apply


ONE, BATCH = "orders.probe_one", "orders.probe_batch"
EFFECTS = {ONE: "fuzz.effect.one", BATCH: "fuzz.effect.batch"}
EVENTS = f"/dapr/events/{TOPIC}"
TOKEN = {"dapr-api-token": "app-secret"}
CLOUDEVENTS = [
    "application/cloudevents+json",
    "application/json",
    "application/json; charset=utf-8",
]


def effect(consumer: str, event) -> None:
    """A handler's effect: a row in its app's database, so that it commits or rolls back
    with the delivery (the orders checkpoint table under a name no subscription uses)."""
    AggregateCheckpoint.objects.create(
        consumer=EFFECTS[consumer], aggregate_id=event.id, sequence=0
    )


def probe_one(event) -> None:
    effect(ONE, event)


def probe_batch(events) -> None:
    for event in events:
        effect(BATCH, event)


@pytest.fixture
def probed():
    """Two orders handlers of TOPIC: one event at a time, and set-based latest-wins."""
    schemas.source().register(TOPIC, SCHEMA)
    subscribe(TOPIC, app="orders")(probe_one)
    subscribe(TOPIC, app="orders", latest_wins=True, batch=True)(probe_batch)
    yield
    unsubscribe(ONE)
    unsubscribe(BATCH)
    schemas.install_local_source(schemas.source())  # forget the cached fuzz schema


@contextmanager
def undone():
    """Run one example in savepoints of every database, rolled back after it, so that every
    example starts from the same rows."""
    aliases = [store.alias for store in all_stores()]  # where deliveries write
    with ExitStack() as stack:
        for alias in aliases:
            stack.enter_context(transaction.atomic(using=alias))
        try:
            yield
        finally:
            for alias in aliases:
                transaction.set_rollback(True, using=alias)


def strict_json(text: str) -> Any:
    def refuse(name):
        raise ValueError(name)

    return json.loads(text, parse_constant=refuse)


def storable(text: str) -> str:
    return text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def as_kept(text: str) -> tuple[str, Any]:
    """How a dead letter keeps a text: compared as JSON if it is JSON, else as text."""
    try:
        return "json", strict_json(text)
    except (ValueError, RecursionError):
        return "text", storable(text)


def kept_text(body: bytes) -> tuple[str, Any]:
    """How a dead letter keeps a whole body that is not an event."""
    return as_kept(storable(body.decode("utf-8", "replace")))


def read_by_consumer(body: bytes) -> list[tuple[str, Any]]:
    """The dead letters a body that is not an event makes, read as the consumer reads it:
    one per element of a JSON array, else one for the whole body."""
    try:
        parsed = strict_json(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return [kept_text(body)]
    if isinstance(parsed, list):
        return [("json", element) for element in parsed]
    return [("json", parsed)]


def store_rows() -> list:
    """The failed-delivery rows (retrying or dead) of every app."""
    return [row for store in all_stores() for row in store.rows(store.failures).all()]


def assert_outcome(good: list[dict], dead: list[tuple[str, Any]]) -> None:
    """Good events applied exactly once by each handler; every expected dead letter there;
    nothing else written by the deliveries."""
    good_ids = {event["id"] for event in good}
    inbox = set(InboxEntry.objects.filter(consumer__in=EFFECTS).values_list("consumer", "event_id"))
    assert inbox == {(consumer, i) for consumer in EFFECTS for i in good_ids}
    effects = AggregateCheckpoint.objects.filter(consumer__in=EFFECTS.values())
    expected = {(name, i) for name in EFFECTS.values() for i in good_ids}
    assert set(effects.values_list("consumer", "aggregate_id")) == expected
    checkpoints = AggregateCheckpoint.objects.filter(consumer=BATCH)
    newest = {(event["subject"], int(event["sequence"])) for event in good}
    assert set(checkpoints.values_list("aggregate_id", "sequence")) == newest
    failures = store_rows()
    assert {row.status for row in failures} <= {"dead"}  # no bad event waits for a retry
    assert not [row for row in failures if row.event_id in good_ids and row.consumer in EFFECTS]
    kept = [as_kept(row.envelope) for row in failures]
    for expected_letter in dead:
        assert expected_letter in kept, f"not dead-lettered: {expected_letter!r:.300}"


def celery_dead_letters(message: Message) -> list[tuple[str, Any]]:
    if message.kind == "noise":
        return read_by_consumer(message.body)
    return [("json", element) for element in message.of("bad")]


class FakeMessage:
    def __init__(self, body, headers):
        self.body, self.headers, self.state = body, headers, "received"

    def ack(self):
        self.state = "acked"

    def requeue(self):
        self.state = "requeued"


class FakeHub:
    def __init__(self):
        self.callbacks = []

    def call_later(self, delay, callback):
        self.callbacks.append(callback)


headers = st.one_of(
    st.none(),
    st.just(["not", "a", "table"]),
    st.fixed_dictionaries(
        {
            "edn-events": st.one_of(
                st.integers(), st.floats(), st.text(max_size=4), st.none(), st.lists(st.none())
            )
        }
    ),
)


@fuzz(EXAMPLES)
@given(scenario=scenarios(), together=st.booleans(), header=headers)
def test_the_celery_consumer_applies_good_events_once_and_dead_letters_the_rest(
    probed, monkeypatch, scenario, together, header
):
    monkeypatch.setattr("django.db.close_old_connections", lambda: None)
    with undone():
        received = [FakeMessage(message.body, header) for message in scenario]
        hub = FakeHub() if together else None
        batch = MessageBatch(hub, limit=len(received) if together else 1)
        for message in received:
            batch.add("orders", message)
        for callback in hub.callbacks if hub else []:
            callback()
        assert [message.state for message in received] == ["acked"] * len(received)
        good = [event for message in scenario for event in message.of("good")]
        dead = [letter for message in scenario for letter in celery_dead_letters(message)]
        assert_outcome(good, dead)


@pytest.fixture
def dapr(settings, client):
    settings.ROOT_URLCONF = "tests.edn_core.dapr_urls"
    settings.APP_API_TOKEN = "app-secret"
    return client


def post(client, url: str, body: bytes, content_type: str):
    """Post as the sidecar does (the test client drops the content type of an empty body)."""
    return client.generic("POST", url, body, content_type, headers=TOKEN, CONTENT_TYPE=content_type)


def is_bulk(body: bytes) -> bool:
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(parsed, dict) and "specversion" not in parsed and "entries" in parsed


@fuzz(EXAMPLES // 2)  # the Dapr route gets the other half in bulk, and the any-request test
@given(scenario=scenarios(), content_type=st.sampled_from(CLOUDEVENTS), data=st.data())
def test_the_dapr_route_applies_good_events_once_and_drops_the_rest(
    probed, dapr, scenario, content_type, data
):
    assume(not any(is_bulk(message.body) for message in scenario))
    good, dead = [], []
    with undone():
        for message in scenario:
            elsewhere = message.kind == "good" and data.draw(st.booleans(), "to another topic")
            url = "/dapr/events/v1.NobodyListens" if elsewhere else EVENTS
            response = post(dapr, url, message.body, content_type)
            assert response.status_code == 200, response.content
            status = response.json()["status"]
            if message.kind == "good" and not elsewhere:
                assert status == "SUCCESS"
                good.append(message.items[0][1])
            elif message.kind in ("good", "bad"):  # a body posted to the route is one envelope
                assert status in {"SUCCESS", "DROP"}
                dead.append(("json", message.items[0][1]))
            else:
                assert status == "DROP"
                dead.append(kept_text(message.body))
        assert_outcome(good, dead)


MALFORMED_ENTRIES = [{"event": {}}, {"entryId": 7, "event": {}}, {"entryId": ""}, "entry", None]


@fuzz(EXAMPLES // 2)
@given(
    scenario=scenarios(),
    as_text=st.booleans(),
    malformed=st.one_of(st.none(), st.sampled_from(MALFORMED_ENTRIES)),
    data=st.data(),
)
def test_bulk_delivery_answers_every_entry_or_refuses_a_malformed_request(
    probed, dapr, scenario, as_text, malformed, data
):
    entries, expected, good, dead = [], {}, [], []
    for message in scenario:
        items = message.items if message.kind != "noise" else [("noise", message.body)]
        for kind, element in items:
            entry_id = f"e{len(entries)}"
            if kind == "noise":
                event = element.decode("utf-8", "replace")
                dead.append(kept_text(element))
            else:
                event = json.dumps(element) if as_text else element
                # an entry's event that is a string is the envelope's text
                kept = as_kept(storable(event)) if isinstance(event, str) else ("json", element)
                dead += [kept] if kind == "bad" else []
                good += [element] if kind == "good" else []
            expected[entry_id] = {"good": {"SUCCESS"}, "again": {"SUCCESS"}}.get(
                kind, {"SUCCESS", "DROP"} if kind == "bad" else {"DROP"}
            )
            entries.append({"entryId": entry_id, "event": event, "contentType": CLOUDEVENTS[0]})
    if malformed is not None:
        entries.insert(data.draw(st.integers(0, len(entries)), "at"), malformed)
    body = json.dumps({"entries": entries, "id": "bulk", "pubsubname": "pubsub", "topic": TOPIC})
    with undone():
        response = post(dapr, EVENTS, body.encode(), "application/json")
        if malformed is not None:
            assert response.status_code == 400
            assert response["Content-Type"] == "application/problem+json"
            assert_outcome([], [])
            assert not any(store.rows(store.failures).exists() for store in all_stores())
            return
        assert response.status_code == 200, response.content
        statuses = {s["entryId"]: s["status"] for s in response.json()["statuses"]}
        assert statuses.keys() == expected.keys()
        assert all(statuses[i] in allowed for i, allowed in expected.items()), statuses
        assert_outcome(good, dead)


header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)


@fuzz(EXAMPLES)
@given(
    method=st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "DELETE"]),
    topic=st.one_of(st.just(TOPIC), st.text(max_size=20)),
    body=st.one_of(st.binary(max_size=300), scenarios(max_messages=1).map(lambda s: s[0].body)),
    content_type=st.one_of(st.sampled_from([*CLOUDEVENTS, "text/plain", ""]), header_text),
    token=st.one_of(st.none(), st.just("app-secret"), header_text),
    extra=st.dictionaries(
        st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True), header_text
    ),
    length=st.one_of(st.none(), st.sampled_from(["abc", "-1", "0", "99999999999"])),
)
def test_any_request_to_the_dapr_route_gets_a_documented_answer(
    probed, dapr, method, topic, body, content_type, token, extra, length
):
    extra = {name: value for name, value in extra.items() if name.lower() != "dapr-api-token"}
    headers = {**extra, **({"dapr-api-token": token} if token is not None else {})}
    meta = {"CONTENT_LENGTH": length} if length is not None else {}
    url = f"/dapr/events/{quote(topic, safe='')}"
    with undone():
        response = dapr.generic(method, url, body, content_type, headers=headers, **meta)
        assert response.status_code in {200, 400, 401, 404, 405, 413, 415}, response.content
        written = any(store.rows(store.failures).exists() for store in all_stores())
        if response.status_code != 200:
            assert not written and not InboxEntry.objects.exists()  # refused: nothing written
            return
        assert token == "app-secret"
        answer = response.json()
        statuses = [answer["status"]] if "status" in answer else answer["statuses"]
        assert {s if isinstance(s, str) else s["status"] for s in statuses} <= {"SUCCESS", "DROP"}


def test_data_too_deep_for_the_schema_checks_is_dead_lettered(probed, monkeypatch):
    """The schema checks recurse into the data; data deep enough to exhaust Python's stack
    there (a few hundred levels short of what the parser takes) is a dead letter."""

    def too_deep(*args):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(schemas, "validate_for_consume", too_deep)
    event = {
        "id": "deep-1",
        "source": "/fuzz",
        "type": TOPIC,
        "specversion": "1.0",
        "time": "2026-01-02T03:04:05Z",
        "subject": "agg-1",
        "sequence": "1",
        "data": {"n": 1},
    }
    assert deliver_batch([json.dumps(event)], app_labels={"orders"}) == {"dead-lettered": 2}
    rows = {row.consumer: row for row in store_rows()}
    assert rows.keys() == set(EFFECTS) and {r.status for r in rows.values()} == {"dead"}
    assert all("nested too deeply" in row.last_error for row in rows.values())
    assert_outcome([], [("json", event)])
