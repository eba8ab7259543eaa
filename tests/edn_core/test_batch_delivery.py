"""Batched delivery: one transaction per app for a batch, the single path when anything
fails, set-based (``batch=True``) subscriptions, and ``Repository.save_all``."""

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from edn_core.bus.batch import deliver_batch
from edn_core.bus.dispatch import deliver
from edn_core.bus.subscriptions import subscribe, unsubscribe
from edn_core.domain import ConcurrencyConflict
from orders.commands import orders as order_repository
from orders.models import AggregateCheckpoint, FailedDelivery, InboxEntry
from tests.edn_core.test_bus import TOPIC, ping, recorder, register_test_topic
from tests.orders.factories import AddressFactory, PlaceOrderFactory, stored_orders

pytestmark = pytest.mark.django_db(databases="__all__")
__all__ = ["recorder"]  # the fixture, used by name below


def savepoint_statements(alias: str, run) -> int:
    with CaptureQueriesContext(connections[alias]) as queries:
        run()
    return sum(
        q["sql"].upper().startswith(("SAVEPOINT", "RELEASE")) for q in queries.captured_queries
    )


def test_a_batch_is_one_transaction_without_savepoints(recorder):
    envelopes = [ping(f"a{n}", n=n) for n in range(20)]
    # the batch's own atomic block is a savepoint inside the test's transaction: 2 statements,
    # not 2 per event
    assert savepoint_statements("orders", lambda: deliver_batch(envelopes)) == 2
    assert len(recorder.calls) == 20
    assert InboxEntry.objects.filter(consumer="orders.pinged").count() == 20


def test_one_failing_event_sends_the_batch_down_the_single_path(recorder):
    recorder.failures_left = 2  # the first delivery raises, in the batch and then alone
    envelopes = [ping(f"a{n}", n=n) for n in range(5)]
    counts = deliver_batch(envelopes)
    assert counts == {"failed": 1, "handled": 4}
    assert [c[0] for c in recorder.calls] == ["a1", "a2", "a3", "a4"]
    assert FailedDelivery.objects.get().status == "retrying"


def test_a_duplicate_in_a_batch_is_recorded_as_such(recorder):
    first = ping("a", n=1)
    deliver(first)
    counts = deliver_batch([first, ping("b", n=2)])
    assert counts == {"duplicate": 1, "handled": 1}
    assert [c[0] for c in recorder.calls] == ["a", "b"]


@pytest.fixture
def batch_recorder():
    register_test_topic()
    calls = []

    def pinged_in_batches(events):
        calls.append([(e.aggregate_id, e.sequence) for e in events])

    subscribe(TOPIC, app="orders", latest_wins=True, batch=True)(pinged_in_batches)
    yield calls
    unsubscribe("orders.pinged_in_batches")


def test_a_batch_subscription_gets_the_newest_event_per_aggregate_in_one_call(batch_recorder):
    envelopes = [ping("a", 1), ping("b", 1), ping("a", 3), ping("a", 2)]
    counts = deliver_batch(envelopes)
    assert batch_recorder == [[("a", 3), ("b", 1)]]
    assert counts == {"handled": 2, "stale": 2}
    checkpoints = dict(AggregateCheckpoint.objects.values_list("aggregate_id", "sequence"))
    assert checkpoints == {"a": 3, "b": 1}
    outcomes = dict(InboxEntry.objects.values_list("sequence", "outcome").filter(aggregate_id="a"))
    assert outcomes == {1: "stale", 2: "stale", 3: "handled"}


def test_a_batch_subscription_skips_what_its_checkpoint_already_passed(batch_recorder):
    deliver_batch([ping("a", 5), ping("b", 1)])
    deliver_batch([ping("a", 4), ping("b", 2)])
    assert batch_recorder[-1] == [("b", 2)]
    assert dict(AggregateCheckpoint.objects.values_list("aggregate_id", "sequence")) == {
        "a": 5,
        "b": 2,
    }


def test_a_batch_subscription_alone_gets_a_list_of_one(batch_recorder):
    assert deliver(ping("a", 1)) == {"orders.pinged_in_batches": "handled"}
    assert batch_recorder == [[("a", 1)]]


def test_save_all_saves_every_changed_aggregate_or_none():
    placed = [PlaceOrderFactory.create() for _ in range(3)]
    loaded = [order_repository.get(order.id) for order in placed]
    new = AddressFactory()
    for order in loaded:
        order.change_shipping_address(type(order.shipping_address)(**new))
    order_repository.save_all(loaded)
    assert {o.version for o in loaded} == {2}
    ids = [o.id for o in placed]

    def stored():
        return {
            (o.version, o.shipping_address.street) for o in order_repository.get_many(ids).values()
        }

    assert stored() == {(2, new["street"])}

    stale = [order_repository.get(order.id) for order in placed]
    order_repository.change(placed[1].id, lambda o: o.cancel())  # someone else saves first
    for order in stale:
        order.change_shipping_address(type(order.shipping_address)(**AddressFactory()))
    with pytest.raises(ConcurrencyConflict):
        order_repository.save_all(stale)
    assert stored() == {(2, new["street"]), (3, new["street"])}  # placed[1]: cancelled


def test_the_address_flow_moves_many_customers_orders_in_one_batch():
    customers = [PlaceOrderFactory.create().customer_id for _ in range(5)]
    from customers.domain import Address, CustomerAddressUpdated
    from edn_core.events import publication_for

    events = []
    for n, customer in enumerate(customers, 1):
        event = CustomerAddressUpdated(
            aggregate_id=customer, shipping_address=Address(f"{n} New St", "C", "S", "X", "1")
        )
        events.append(publication_for(event).build("customers", event, 2).to_json())
    deliver_batch(events)
    orders = stored_orders()
    streets = {o.customer_id: o.shipping_address.street for o in orders}
    assert streets == {c: f"{n} New St" for n, c in enumerate(customers, 1)}
    assert {o.version for o in orders} == {2}


def test_enqueue_message_writes_a_declared_message_keyed_and_correlated_refuses_the_rest():
    from django.db import transaction

    from edn_core.bus.outbox import enqueue_message
    from orders.models import OutboxMessage

    data = {"orderId": "8a0e3b9c-6c5e-4b7a-9f55-2f0f7c1d1a01", "state": "Created"}
    with transaction.atomic(using="orders"):
        event = enqueue_message(
            "orders", "v1.OrderConfirmed", data, key="saga-1", correlation_id="c-1"
        )
    row = OutboxMessage.objects.get(event_id=event.id)
    assert (row.topic, row.aggregate_id, row.sequence) == ("v1.OrderConfirmed", "saga-1", 0)
    assert event.correlation_id == "c-1" and event.data == data
    with pytest.raises(LookupError), transaction.atomic(using="orders"):
        enqueue_message("orders", "v1.NeverDeclared", {}, key="k")
