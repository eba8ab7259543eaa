"""The Celery consumer step's batching: what one read brings is delivered in one go, acked
only after it committed, requeued as a whole when the delivery itself fails."""

import pytest

from edn_core.bus.celery_consumer import MessageBatch


class FakeHub:
    def __init__(self):
        self.callbacks = []

    def call_later(self, delay, callback):
        assert 0 < delay <= 0.05
        self.callbacks.append(callback)

    def run_ready(self):
        ready, self.callbacks = self.callbacks, []
        for callback in ready:
            callback()


class FakeMessage:
    def __init__(self, body, headers=None):
        self.body, self.state, self.headers = body, "received", headers or {}

    def ack(self):
        self.state = "acked"

    def requeue(self):
        self.state = "requeued"


@pytest.fixture
def deliveries(monkeypatch):
    calls = []

    def deliver_batch(bodies, *, app_labels):
        calls.append((sorted(app_labels), list(bodies)))
        if any(body == "database down" for body in bodies):
            raise ConnectionError("database unavailable")

    monkeypatch.setattr("edn_core.bus.batch.deliver_batch", deliver_batch)
    monkeypatch.setattr("django.db.close_old_connections", lambda: None)
    return calls


def test_one_read_is_delivered_once_per_app_after_the_loop_turns(deliveries):
    hub = FakeHub()
    batch = MessageBatch(hub, limit=10)
    messages = [FakeMessage(f"e{n}") for n in range(4)]
    for n, message in enumerate(messages):
        batch.add("orders" if n % 2 == 0 else "sagas", message)
    assert deliveries == [] and len(hub.callbacks) == 1  # scheduled once, not per message
    hub.run_ready()
    assert deliveries == [(["orders"], ["e0", "e2"]), (["sagas"], ["e1", "e3"])]
    assert {m.state for m in messages} == {"acked"}


def test_a_full_batch_is_delivered_without_waiting(deliveries):
    batch = MessageBatch(FakeHub(), limit=3)
    for n in range(3):
        batch.add("orders", FakeMessage(f"e{n}"))
    assert deliveries == [(["orders"], ["e0", "e1", "e2"])]


def test_a_failed_delivery_requeues_that_apps_messages_and_acks_the_others(deliveries):
    hub = FakeHub()
    batch = MessageBatch(hub, limit=10)
    bad, good = FakeMessage("database down"), FakeMessage("fine")
    batch.add("orders", bad)
    batch.add("sagas", good)
    hub.run_ready()
    assert (bad.state, good.state) == ("requeued", "acked")


def test_without_an_event_loop_each_message_is_delivered_at_once(deliveries):
    batch = MessageBatch(None)
    message = FakeMessage("e0")
    batch.add("orders", message)
    assert deliveries == [(["orders"], ["e0"])] and message.state == "acked"


def test_messages_in_batched_mode_count_by_their_events(deliveries):
    hub = FakeHub()
    batch = MessageBatch(hub, limit=200)
    messages = [FakeMessage(f"b{n}", {"edn-events": 400}) for n in range(3)]
    batch.add("orders", messages[0])
    batch.add("orders", messages[1])
    assert deliveries == []  # 800 events: under the limit, waits for the loop
    batch.add("orders", messages[2])  # 1,200 events: delivered at once
    assert deliveries == [(["orders"], ["b0", "b1", "b2"])]
    assert batch.events == 0 and {m.state for m in messages} == {"acked"}


def test_while_deliveries_fail_each_next_one_waits_longer_then_none_after_success(
    deliveries, monkeypatch
):
    clock = [100.0]
    monkeypatch.setattr("edn_core.bus.celery_consumer.time.monotonic", lambda: clock[0])
    timers = []
    hub = type("Hub", (), {"call_later": lambda self, delay, cb: timers.append((delay, cb))})()
    batch = MessageBatch(hub, limit=10)

    def attempt(body: str) -> FakeMessage:
        message = FakeMessage(body)
        batch.add("orders", message)  # gathered: one timer
        while timers:
            delay, callback = timers.pop(0)
            clock[0] += delay
            waits.append(delay)
            callback()
        return message

    waits: list[float] = []
    assert attempt("database down").state == "requeued"
    assert attempt("database down").state == "requeued"  # redelivered at once, held back
    assert attempt("database down").state == "requeued"
    assert attempt("fine").state == "acked"
    assert attempt("fine").state == "acked"
    g = 0.005  # the gathering pause; after a failure the rest of the backoff is waited too
    assert waits == pytest.approx([g, g, 0.1 - g, g, 0.2 - g, g, 0.4 - g, g])
    assert len(deliveries) == 5  # one attempt per backoff, not one per redelivery


@pytest.mark.parametrize(
    ("broker_url", "gathers"),
    [
        ("amqp://guest:guest@127.0.0.1:5672//", True),
        ("memory://", True),
        ("redis://127.0.0.1:6379/0", False),
        ("rediss://cache:6380/0", False),
        ("sentinel://s1:26379;sentinel://s2:26379", False),
    ],
)
def test_messages_gather_on_the_event_loop_except_on_redis(broker_url, gathers):
    from edn_core.bus.celery_consumer import gathers as gathers_on

    assert gathers_on(broker_url) is gathers


def test_on_redis_each_message_is_delivered_inside_its_read_and_a_backoff_is_slept(
    deliveries, monkeypatch
):
    """No timer: the message is delivered (and acked) before ``add`` returns, so kombu has no
    BRPOP outstanding while the handlers run; after a failure the next delivery sleeps."""
    clock, slept = [100.0], []
    monkeypatch.setattr("edn_core.bus.celery_consumer.time.monotonic", lambda: clock[0])
    monkeypatch.setattr("edn_core.bus.celery_consumer.time.sleep", slept.append)
    hub = FakeHub()
    batch = MessageBatch(hub, limit=10, gather=False)
    first = FakeMessage("database down")
    batch.add("orders", first)
    assert first.state == "requeued" and hub.callbacks == [] and slept == []
    second = FakeMessage("fine")
    batch.add("orders", second)
    assert second.state == "acked" and slept == [pytest.approx(0.1)]
    assert hub.callbacks == [] and len(deliveries) == 2
