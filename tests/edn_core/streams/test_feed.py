"""The stream feed (edn_core/streams/feed.py): integration events of the configured topics,
received by the hosting app through the bus, appended to their streams keyed by aggregate, in
order per key, exactly once; configuration checked at startup (edn_core/streams/conf.py).

Events are written to the customers app's outbox and moved by the in-process bus
(``EventBus``); the analytics app hosts the feed. Broker logs live under prefixes of their own.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from edn_core import schemas, tracing
from edn_core.bus import outbox
from edn_core.bus.dispatch import DUPLICATE, deliver
from edn_core.bus.stores import store_for
from edn_core.bus.subscriptions import subscriptions_for, unsubscribe
from edn_core.envelope import IntegrationEvent
from edn_core.routers import alias_for
from edn_core.streams import feed
from edn_core.streams.conf import streams_settings
from edn_core.streams.database import DatabaseLog
from edn_core.streams.port import StreamLog
from edn_core.testing import EventBus

pytestmark = pytest.mark.django_db(databases="__all__")
PLACED, SHIPPED, OTHER = "v1.StreamFedPlaced", "v1.StreamFedShipped", "v1.StreamFedIgnored"
APP = "analytics"


def event(topic: str, aggregate: str, sequence: int, **data) -> IntegrationEvent:
    return IntegrationEvent(
        id=str(uuid.uuid4()),
        topic=topic,
        source="/tests/customers",
        time=timezone.now(),
        aggregate_id=aggregate,
        sequence=sequence,
        correlation_id=f"c-{aggregate}",
        causation_id=None,
        traceparent=tracing.child_traceparent(None),
        data={"n": sequence, **data},
    )


def publish(*events: IntegrationEvent) -> list[IntegrationEvent]:
    """Write ``events`` to the customers app's outbox in one transaction (one relay batch)."""
    with transaction.atomic(using=alias_for("customers")):
        return outbox.append("customers", list(events))


def entries_of(log: StreamLog, stream: str) -> list:
    partitions = log.info(stream).partitions
    return [e for p in range(partitions) for e in log.read(stream, p, 0, 10_000)]


@pytest.fixture(autouse=True)
def registered_event_schemas():
    """The test topics' schemas only (replaces the platform's fixture, as the conftest does)."""
    for topic in (PLACED, SHIPPED, OTHER):
        schemas.source().register(topic, {"type": "object"})


@pytest.fixture
def stream_name() -> str:
    return f"fed-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["database", "redis", "nats"])
def kind(request, settings):
    """A kind of log for the fed streams, its server and a prefix of the test's own."""
    prefix = f"edn-t-{uuid.uuid4().hex[:12]}"
    if request.param == "redis":
        from tests.edn_core.streams import adapter_redis

        client = adapter_redis.client_or_skip()
        settings.EDN_STREAMS_REDIS_URL = adapter_redis.URL
        settings.EDN_STREAMS_LOG_OPTIONS = {"redis": {"prefix": f"{prefix}:"}}
        yield "redis"
        if keys := list(client.scan_iter(match=f"{prefix}:*")):
            client.delete(*keys)
    elif request.param == "nats":
        from tests.edn_core.streams import adapter_nats

        settings.EDN_STREAMS_NATS_URL = adapter_nats.server_or_skip()
        settings.EDN_STREAMS_LOG_OPTIONS = {"nats": {"prefix": prefix}}
        yield "nats"
        adapter_nats.drop(adapter_nats.new_log(prefix))
    else:
        yield "database"


@pytest.fixture
def fed(settings, stream_name, kind):
    """Stream ``stream_name`` of PLACED and SHIPPED on the ``kind`` log, fed by analytics."""
    settings.EDN_STREAMS = {
        stream_name: {"topics": [PLACED, SHIPPED], "partitions": 4, "log": kind},
        f"{stream_name}-other": {"topics": [OTHER], "partitions": 1, "log": kind},
    }
    consumers = feed.feed_streams(APP, [stream_name])
    yield feed.log_for(APP, stream_name)
    for consumer in consumers:
        unsubscribe(consumer)


def test_configured_topics_land_in_the_stream_keyed_by_aggregate(fed, stream_name):
    placed, shipped = event(PLACED, "order-1", 1), event(SHIPPED, "order-1", 2)
    ignored = event(OTHER, "order-1", 3)
    publish(placed, shipped, ignored)
    EventBus().run_until_quiet()
    entries = entries_of(fed, stream_name)
    assert [(e.key, e.id) for e in entries] == [("order-1", placed.id), ("order-1", shipped.id)]
    received = IntegrationEvent.from_json(placed.to_json())
    assert entries[0].value == {
        "id": placed.id,
        "type": PLACED,
        "time": received.time.isoformat().replace("+00:00", "Z"),
        "sequence": 1,
        "data": {"n": 1},
    }
    assert entries[0].headers == {
        "traceparent": placed.traceparent,
        "correlationid": "c-order-1",
    }
    assert stream_name + "-other" not in fed.streams()  # not fed: not even created


def test_order_per_key_is_the_delivery_order_across_topics(fed, stream_name):
    """Topics interleaved in one relay batch: a batch subscription per topic would put one
    topic's events ahead of an aggregate's earlier event of the other."""
    keys = [f"order-{n}" for n in range(8)]
    events = [
        event(PLACED if (sequence + n) % 2 else SHIPPED, key, sequence)
        for sequence in range(1, 5)
        for n, key in enumerate(keys)
    ]
    publish(*events)
    EventBus().run_until_quiet()
    entries = entries_of(fed, stream_name)
    assert len(entries) == len(events)
    for key in keys:
        mine = [e for e in entries if e.key == key]
        assert len({e.partition for e in mine}) == 1
        assert [e.value["sequence"] for e in mine] == [1, 2, 3, 4]
        assert [e.value["type"] for e in mine] == [e.topic for e in events if e.aggregate_id == key]
        assert [e.offset for e in mine] == sorted(e.offset for e in mine)


def test_a_delivery_handled_twice_is_appended_once(fed, stream_name):
    placed = event(PLACED, "order-1", 1)
    publish(placed)
    EventBus().run_until_quiet()
    consumer = f"{APP}.{feed.consumer_name(PLACED)}"
    assert deliver(placed.to_json(), app_labels={APP})[consumer] == DUPLICATE
    assert [e.id for e in entries_of(fed, stream_name)] == [placed.id]


def test_a_crash_after_the_append_is_absorbed_by_the_entry_id(fed, stream_name, monkeypatch):
    """The delivery's transaction fails after the entry was appended (twice: in the relay's
    batch, then delivered alone): on a broker the entry stays and the retried delivery finds
    its id; on the database log it rolled back with the delivery."""
    crashes = []

    class CrashAfterAppend:
        def __init__(self, log):
            self.log = log

        def append(self, stream, entries):
            positions = self.log.append(stream, entries)
            if len(crashes) < 2:
                crashes.append(positions)
                raise RuntimeError("the process died before the delivery committed")
            return positions

        def __getattr__(self, name):
            return getattr(self.log, name)

    real = feed.log_for
    monkeypatch.setattr(feed, "log_for", lambda *a: CrashAfterAppend(real(*a)))
    first, second = event(PLACED, "order-1", 1), event(SHIPPED, "order-2", 1)
    publish(first, second)
    bus = EventBus()
    bus.run_until_quiet()
    assert len(crashes) == 2  # the batch, then the first one delivered alone
    bus.run_until_quiet(fast_forward=True)  # its retry
    entries = entries_of(fed, stream_name)
    assert sorted(e.id for e in entries) == sorted([first.id, second.id])
    if fed.name != "database":  # appended before the crashes: the retry found it there
        (kept,) = [e for e in entries if e.id == first.id]
        assert crashes[0][0] == crashes[1][0] == (kept.partition, kept.offset)
    assert bus.dead_letters() == []
    inbox = store_for(APP).rows(store_for(APP).inbox)
    assert inbox.filter(event_id__in=[first.id, second.id]).count() == 2


def test_an_unconfigured_stream_is_not_fed(settings, stream_name):
    settings.EDN_STREAMS = {
        stream_name: {"topics": [PLACED]},
        f"{stream_name}-b": {"topics": [SHIPPED]},
    }
    consumers = feed.feed_streams(APP, [stream_name])
    try:
        assert consumers == [f"{APP}.{feed.consumer_name(PLACED)}"]
        assert subscriptions_for(SHIPPED) == []
        publish(event(PLACED, "a", 1), event(SHIPPED, "a", 2))
        EventBus().run_until_quiet()
        log = feed.log_for(APP, stream_name)
        assert [e.value["type"] for e in entries_of(log, stream_name)] == [PLACED]
        assert log.streams() == [stream_name]
    finally:
        for consumer in consumers:
            unsubscribe(consumer)
    with pytest.raises(LookupError, match="nope"):
        feed.feed_streams(APP, ["nope"])


def test_retention_trims_the_streams_that_have_one(settings, stream_name):
    settings.EDN_STREAMS = {
        stream_name: {"topics": [PLACED], "partitions": 2, "retention": "P7D"},
        f"{stream_name}-kept": {"topics": [PLACED], "partitions": 2},
    }
    consumers = feed.feed_streams(APP)
    try:
        publish(event(PLACED, "a", 1), event(PLACED, "b", 1))
        EventBus().run_until_quiet()
        log = feed.log_for(APP, stream_name)
        assert feed.trim_streams(APP) == {stream_name: 0}
        later = timezone.now() + timedelta(days=7, seconds=1)
        assert feed.trim_streams(APP, now=later) == {stream_name: 2}
        assert entries_of(log, stream_name) == []
        assert len(entries_of(log, f"{stream_name}-kept")) == 2
    finally:
        for consumer in consumers:
            unsubscribe(consumer)


def test_log_for_builds_the_configured_log_once(settings, stream_name):
    settings.EDN_STREAMS = {stream_name: {"topics": [PLACED], "log": "redis"}}
    settings.EDN_STREAMS_REDIS_URL = "redis://127.0.0.1:6379/6"
    settings.EDN_STREAMS_DEDUP_WINDOW = "PT2H"
    settings.EDN_STREAMS_LOG_OPTIONS = {"redis": {"prefix": "edn:test:feed:"}}
    log = feed.log_for(APP, stream_name)
    assert (log.name, log.prefix, log.dedup_ms) == ("redis", "edn:test:feed:", 2 * 3600 * 1000)
    assert feed.log_for(APP, stream_name) is log
    default = feed.log_for(APP)
    assert isinstance(default, DatabaseLog) and default.alias == alias_for(APP)
    settings.EDN_STREAMS = {}
    assert feed.log_for(APP, stream_name) is not log  # settings changed: built again


# -- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("streams", "problem"),
    [
        (["orders"], "EDN_STREAMS must be a dict"),
        ({"orders": {"topics": []}}, "'topics' must be a non-empty list"),
        ({"orders": {"topics": "v1.OrderPlaced"}}, "'topics' must be a non-empty list"),
        ({"orders": {"topics": ["OrderPlaced"]}}, "must look like v1.OrderPlaced"),
        ({"orders": {"topics": [PLACED, PLACED]}}, "listed twice"),
        ({"orders": {"topics": [PLACED], "partitions": 0}}, "'partitions' must be"),
        ({"orders": {"topics": [PLACED], "partitions": "8"}}, "'partitions' must be"),
        ({"orders": {"topics": [PLACED], "log": "kafka"}}, "'log' must be one of"),
        ({"orders": {"topics": [PLACED], "retention": "7 days"}}, "ISO 8601 duration"),
        ({"orders": {"topics": [PLACED], "retention": "P0D"}}, "ISO 8601 duration"),
        ({"orders": {"topics": [PLACED], "partition": 8}}, "unknown keys ['partition']"),
        ({"or ders": {"topics": [PLACED]}}, "stream name 'or ders'"),
        ({"orders": [PLACED]}, "a dict of"),
        (
            {"orders": {"topics": [PLACED], "log": "redis"}},
            "['orders'] on redis: set EDN_STREAMS_REDIS_URL",
        ),
        ({"orders": {"topics": [PLACED], "log": "nats"}}, "set EDN_STREAMS_NATS_URL"),
    ],
)
def test_bad_configuration_is_refused_at_startup(settings, streams, problem):
    settings.EDN_STREAMS = streams
    settings.EDN_STREAMS_REDIS_URL = settings.REDIS_URL = ""
    settings.EDN_STREAMS_NATS_URL = settings.NATS_URL = ""
    with pytest.raises(ImproperlyConfigured, match="stream settings") as refused:
        feed.feed_streams(APP)  # what the hosting app's events.py calls while Django starts
    assert problem in str(refused.value)


def test_the_default_log_is_checked_too(settings):
    settings.EDN_STREAMS, settings.EDN_STREAMS_LOG = {}, "kafka"  # even with no stream on it
    with pytest.raises(ImproperlyConfigured, match="EDN_STREAMS_LOG must be one of"):
        streams_settings()
    settings.EDN_STREAMS_LOG, settings.EDN_STREAMS_NATS_URL = "nats", ""
    with pytest.raises(ImproperlyConfigured, match="EDN_STREAMS_LOG on nats: set EDN_STREAMS_NATS"):
        streams_settings()


def test_every_problem_is_named_at_once(settings):
    settings.EDN_STREAMS = {"a": {"topics": ["x"]}, "b": {"topics": [PLACED], "log": "?"}}
    settings.EDN_STREAMS_DEDUP_WINDOW = "1 day"
    settings.EDN_STREAMS_LOG_OPTIONS = {"kafka": {}}
    with pytest.raises(ImproperlyConfigured) as refused:
        streams_settings()
    for problem in ("topic 'x'", "'log' must be", "EDN_STREAMS_DEDUP_WINDOW", "LOG_OPTIONS"):
        assert problem in str(refused.value)


def test_defaults(settings):
    settings.EDN_STREAMS = {"orders": {"topics": [PLACED]}}
    found = streams_settings()
    (stream,) = found.streams.values()
    assert (stream.partitions, stream.log, stream.retention) == (8, "database", None)
    assert found.default_log == "database"
    assert found.dedup_window == timedelta(days=1)
    assert found.streams_of(PLACED) == [stream] and found.streams_of(SHIPPED) == []
    settings.EDN_STREAMS = {}
    assert streams_settings().streams == {}
    settings.EDN_STREAMS_LOG, settings.EDN_STREAMS_REDIS_URL = "redis", "redis://127.0.0.1/6"
    settings.EDN_STREAMS = {"orders": {"topics": [PLACED]}, "b": {"topics": [PLACED]}}
    assert [s.log for s in streams_settings().streams_of(PLACED)] == ["redis", "redis"]
