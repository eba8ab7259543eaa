"""The core loop in one process: outbox, relay, inbox, retries, dead letters, ordering."""

import json
import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from customers.models import CustomerRecord
from customers.models import OutboxMessage as CustomerOutbox
from edn_core import tracing
from edn_core.bus import failures, retries
from edn_core.bus.dispatch import DUPLICATE, FAILED, HANDLED, deliver
from edn_core.bus.stores import store_for
from edn_core.bus.subscriptions import subscribe, unsubscribe
from edn_core.cqrs import send
from edn_core.events import IntegrationEvent
from edn_core.testing import EventBus
from orders.models import AggregateCheckpoint, FailedDelivery, InboxEntry
from tests.customers.factories import AddressFactory, CreateCustomerFactory

pytestmark = pytest.mark.django_db(databases="__all__")
TOPIC = "v1.TestPinged"


@dataclass
class Recorder:
    calls: list
    failures_left: int = 0

    def __call__(self, event):
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError(f"boom on {event.id}")
        self.calls.append((event.aggregate_id, event.sequence, event.data))


def register_test_topic() -> None:
    from edn_core import schemas

    schemas.source().register(TOPIC, {"type": "object"})


@pytest.fixture
def recorder():
    register_test_topic()
    rec = Recorder(calls=[])

    def pinged(event):
        rec(event)

    subscribe(TOPIC, app="orders")(pinged)
    yield rec
    unsubscribe("orders.pinged")


def ping(aggregate="agg", sequence=1, **data) -> str:
    return IntegrationEvent(
        id=str(uuid.uuid4()),
        topic=TOPIC,
        source="/tests",
        time=timezone.now(),
        aggregate_id=aggregate,
        sequence=sequence,
        correlation_id="c",
        causation_id=None,
        traceparent=tracing.child_traceparent(None),
        data=data,
    ).to_json()


def change_address(customer, **address):
    from customers.commands import UpdateCustomer

    result = send(
        UpdateCustomer(
            customer_id=customer.id,
            expected_version=None,
            shipping_address=address or AddressFactory(),
        )
    )
    assert result.accepted, result
    return result.value


def test_command_writes_aggregate_and_event_in_one_transaction():
    bus = EventBus()
    customer = CreateCustomerFactory.create()
    assert bus.published() == []  # CustomerCreated stays inside customers
    change_address(
        customer, street="1 New St", city="Paris", state="IDF", country="FR", postal_code="75001"
    )
    (event,) = bus.published("v1.CustomerAddressUpdated")
    assert event.data == {
        "customerId": str(customer.id),
        "shippingAddress": {
            "street": "1 New St",
            "city": "Paris",
            "state": "IDF",
            "country": "FR",
            "postalCode": "75001",
        },
    }
    assert event.aggregate_id == str(customer.id)
    assert event.sequence == CustomerRecord.objects.get(pk=customer.id).version
    assert bus.pending() == 1


def test_no_event_when_the_address_did_not_change():
    bus = EventBus()
    customer = CreateCustomerFactory.create()
    from customers.commands import UpdateCustomer

    send(
        UpdateCustomer(
            customer_id=customer.id,
            expected_version=None,
            first_name="Other",
            shipping_address=dict(customer.shipping_address.__dict__),
        )
    )
    assert bus.published("v1.CustomerAddressUpdated") == []


def test_an_event_that_cannot_be_built_fails_the_command_and_writes_nothing(monkeypatch):
    customer = CreateCustomerFactory.create()

    def broken(event):
        raise ValueError("cannot map this event")

    from edn_core.events import _PUBLICATIONS, Publication

    key = next(k for k, p in _PUBLICATIONS.items() if p.topic == "v1.CustomerAddressUpdated")
    monkeypatch.setitem(_PUBLICATIONS, key, Publication("v1.CustomerAddressUpdated", broken))
    with pytest.raises(ValueError):
        change_address(customer)
    row = CustomerRecord.objects.get(pk=customer.id)
    assert row.version == 1 and row.street == customer.shipping_address.street
    assert CustomerOutbox.objects.count() == 0


def test_sequences_follow_the_aggregate_version_across_saves():
    bus = EventBus()
    customer = CreateCustomerFactory.create()
    for _ in range(3):
        customer = change_address(customer)
    sequences = [e.sequence for e in bus.published("v1.CustomerAddressUpdated")]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3
    assert sequences[-1] == customer.version


def test_relay_marks_sent_only_what_the_transport_confirmed():
    from edn_core.bus.relay import PublishFailed, relay_batch
    from edn_core.bus.transports import Transport

    class HalfBroker(Transport):
        name = "half"
        seen: list = []

        def publish(self, messages):
            self.seen += [m.id for m in messages]
            return len(messages) // 2

    customer = CreateCustomerFactory.create()
    for _ in range(4):
        customer = change_address(customer)
    with pytest.raises(PublishFailed):
        relay_batch(store_for("customers"), HalfBroker())
    rows = list(CustomerOutbox.objects.order_by("id"))
    assert [r.sent_at is not None for r in rows] == [True, True, False, False]
    assert rows[2].attempts == 1 and "not confirmed" in rows[2].last_error


def test_relay_survives_a_transport_that_raises():
    from edn_core.bus.relay import PublishFailed, relay_batch
    from edn_core.bus.transports import Transport

    class DownBroker(Transport):
        name = "down"

        def publish(self, messages):
            raise ConnectionError("broker unreachable")

    change_address(CreateCustomerFactory.create())
    with pytest.raises(PublishFailed, match="broker unreachable"):
        relay_batch(store_for("customers"), DownBroker())
    assert CustomerOutbox.objects.filter(sent_at__isnull=True).count() == 1
    assert EventBus().run_until_quiet() == 1  # the broker is back: delivered


def test_duplicate_delivery_has_one_effect(recorder):
    envelope = ping(n=1)
    assert deliver(envelope) == {"orders.pinged": HANDLED}
    assert deliver(envelope) == {"orders.pinged": DUPLICATE}
    assert len(recorder.calls) == 1
    assert InboxEntry.objects.filter(consumer="orders.pinged").count() == 1


def test_failing_handler_retries_with_backoff_then_dead_letters(recorder, settings):
    settings.EDN_BUS = {**settings.EDN_BUS, "max_attempts": 3}
    recorder.failures_left = 100
    envelope = ping(n=1)
    assert deliver(envelope) == {"orders.pinged": FAILED}
    failure = FailedDelivery.objects.get()
    assert (failure.status, failure.attempts) == ("retrying", 1)
    assert "boom" in failure.last_error and failure.next_attempt_at > failure.created_at
    bus = EventBus()
    assert bus.run_until_quiet() == 0  # backoff not over yet: nothing retried
    bus.run_until_quiet(fast_forward=True)
    failure.refresh_from_db()
    assert (failure.status, failure.attempts, failure.next_attempt_at) == ("dead", 3, None)
    assert [d.event_id for d in bus.dead_letters()] == [failure.event_id]
    assert recorder.calls == [] and not InboxEntry.objects.exists()


def test_other_events_keep_flowing_past_a_failing_one(recorder):
    recorder.failures_left = 1
    assert deliver(ping("a", n=1))["orders.pinged"] == FAILED
    assert deliver(ping("b", n=2))["orders.pinged"] == HANDLED
    assert [c[0] for c in recorder.calls] == ["b"]


def test_replay_after_the_fix_delivers_once(recorder, settings):
    settings.EDN_BUS = {**settings.EDN_BUS, "max_attempts": 1}
    recorder.failures_left = 1
    deliver(ping(n=1))
    dead = FailedDelivery.objects.get(status="dead")
    assert retries.replay(store_for("orders"), dead) == HANDLED
    assert retries.replay(store_for("orders"), dead) == DUPLICATE
    dead.refresh_from_db()
    assert dead.status == "resolved" and len(recorder.calls) == 1


def test_a_retry_that_succeeds_resolves_the_failure(recorder):
    recorder.failures_left = 1
    deliver(ping(n=1))
    EventBus().run_until_quiet(fast_forward=True)
    assert FailedDelivery.objects.get().status == "resolved"
    assert len(recorder.calls) == 1


@pytest.mark.parametrize(
    "raw", ["{not json", json.dumps({"id": "x", "type": "v1.TestPinged"}), json.dumps([1])]
)
def test_invalid_envelope_is_dead_lettered_and_reaches_no_handler(recorder, raw):
    assert deliver(raw) == {}
    dead = EventBus().dead_letters()
    assert len(dead) == 1 and dead[0].consumer == failures.INVALID_ENVELOPE_CONSUMER
    assert "CloudEvent" in dead[0].last_error and dead[0].envelope == raw
    assert recorder.calls == []


def test_address_changes_out_of_order_keep_the_newest(api):
    customer = CreateCustomerFactory.create()
    order = _place_order(customer.id, customer.shipping_address)
    bus = EventBus()
    first = change_address(
        customer, street="1 Old St", city="A", state="S", country="C", postal_code="1"
    )
    change_address(first, street="2 New St", city="B", state="S", country="C", postal_code="2")
    older, newer = bus.published("v1.CustomerAddressUpdated")
    assert deliver(newer.to_json())["orders.update_shipping_address_of_open_orders"] == HANDLED
    assert deliver(older.to_json())["orders.update_shipping_address_of_open_orders"] == "stale"
    body = api.get(f"/api/orders/{order.id}").json()
    assert body["shippingAddress"]["street"] == "2 New St"


def test_a_latest_wins_claim_records_each_outcome_and_a_duplicate_moves_nothing(api):
    """Proves (edn_core/bus/claim.py, one statement on PostgreSQL): a newer event moves the
    aggregate's checkpoint and is handled, an older one is recorded stale, and delivering the
    newer one again is a duplicate that leaves inbox and checkpoint as they were."""
    customer = CreateCustomerFactory.create()
    _place_order(customer.id, customer.shipping_address)
    bus = EventBus()
    first = change_address(customer, **AddressFactory(street="1 Old St"))
    change_address(first, **AddressFactory(street="2 New St"))
    older, newer = bus.published("v1.CustomerAddressUpdated")
    consumer = "orders.update_shipping_address_of_open_orders"
    assert deliver(newer.to_json()) == {consumer: HANDLED}
    assert deliver(older.to_json()) == {consumer: "stale"}
    assert deliver(newer.to_json()) == {consumer: DUPLICATE}
    rows = InboxEntry.objects.filter(consumer=consumer).order_by("sequence")
    assert [(r.sequence, r.outcome) for r in rows] == [
        (older.sequence, "stale"),
        (newer.sequence, HANDLED),
    ]
    checkpoint = AggregateCheckpoint.objects.get(consumer=consumer, aggregate_id=str(customer.id))
    assert checkpoint.sequence == newer.sequence


def test_trace_context_travels_from_http_request_to_consumer(api, recorder):
    customer = CreateCustomerFactory.create()
    bus = EventBus()
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    body = {"shippingAddress": {"city": "Traced"}}
    response = api.patch(
        f"/api/customers/{customer.id}",
        body,
        format="json",
        HTTP_IF_MATCH=f'"{customer.version}"',
        HTTP_TRACEPARENT=trace,
        HTTP_X_CORRELATION_ID="corr-42",
    )
    assert response.status_code == 200
    (event,) = bus.published("v1.CustomerAddressUpdated")
    assert tracing.trace_id(event.traceparent) == tracing.trace_id(trace)
    assert event.correlation_id == "corr-42"
    seen = []
    subscribe("v1.CustomerAddressUpdated", app="orders")(lambda e: seen.append(tracing.current()))
    try:
        deliver(event.to_json())
    finally:
        unsubscribe("orders.<lambda>")
    assert tracing.trace_id(seen[0].traceparent) == tracing.trace_id(trace)
    assert (seen[0].correlation_id, seen[0].causation_id) == ("corr-42", event.id)


def test_edn_outbox_reports_pending_age_and_dead_letters(capsys, recorder, settings):
    settings.EDN_BUS = {**settings.EDN_BUS, "max_attempts": 1}
    change_address(CreateCustomerFactory.create())
    recorder.failures_left = 1
    deliver(ping(n=1))
    call_command("edn_outbox")
    lines = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()}
    assert lines["customers"][1] == "1" and lines["customers"][2].endswith("s")
    assert lines["orders"][4] == "1"


def test_cleanup_drops_old_inbox_and_sent_rows(recorder):
    from datetime import timedelta

    from django.utils import timezone

    from edn_core.bus.maintenance import cleanup

    deliver(ping(n=1))
    change_address(CreateCustomerFactory.create())
    EventBus().run_until_quiet()
    assert cleanup()["orders"] == {"inbox": 0, "outbox": 0}
    later = timezone.now() + timedelta(days=30)
    report = cleanup(now=later)
    assert report["orders"]["inbox"] >= 1 and report["customers"]["outbox"] == 1


def test_celery_task_relays_the_outbox(recorder):
    from edn_core.bus.tasks import relay_outbox

    change_address(CreateCustomerFactory.create())
    assert relay_outbox.apply().get() == 1
    assert EventBus().pending() == 0


def _place_order(customer_id, address):
    from orders.commands import PlaceOrder

    result = send(
        PlaceOrder(
            customer_id=customer_id,
            shipping_address=dict(address.__dict__),
            items=[
                {
                    "product_id": uuid.uuid4(),
                    "product_name": "Widget",
                    "product_price": Decimal("7.50"),
                    "quantity": 3,
                }
            ],
        )
    )
    assert result.accepted, result
    return result.value
