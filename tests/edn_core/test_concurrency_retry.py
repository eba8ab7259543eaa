"""A delivery that loses an optimistic-concurrency race is run again at once (real PostgreSQL).

The handler is the real one (orders follow a customer's new address). The race is made, not
hoped for: when the handler is about to append its events, another writer on its own
connection changes the same order and commits first; the handler's append then conflicts."""

import threading

import pytest
from django.db import connections

from edn_core.bus.dispatch import CONFLICT_RETRIES, HANDLED, deliver
from edn_core.cqrs import send
from edn_core.eventsourcing import store as event_store
from orders import commands
from orders.models import FailedDelivery, InboxEntry, OrderEvent
from orders.store import orders
from tests.orders.factories import AddressFactory, PlaceOrderFactory
from tests.support.events import address_updated as an_address_update

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)
CONSUMER = "orders.update_shipping_address_of_open_orders"


def address_updated(customer_id, street: str) -> str:
    address = {**AddressFactory(), "street": street}
    address["postalCode"] = address.pop("postal_code")
    return an_address_update(customer_id, address, source="/tests").to_json()


def interleaving(monkeypatch, other_writer, times: int) -> list[int]:
    """Run ``other_writer`` to its commit, on another thread and connection, just before each
    of the first ``times`` appends of this thread (the handler's); return the count of them."""
    real, handler, appends = event_store.insert_events, threading.get_ident(), [0]

    def racing(*args, **kwargs):
        if threading.get_ident() == handler:
            appends[0] += 1
            if appends[0] <= times:
                done = []

                def write():
                    try:
                        done.append(other_writer(appends[0]))
                    finally:
                        connections.close_all()

                writer = threading.Thread(target=write)
                writer.start()
                writer.join(timeout=60)
                assert done, "the concurrent writer did not commit (blocked by the handler?)"
        return real(*args, **kwargs)

    monkeypatch.setattr(event_store, "insert_events", racing)
    return appends


def test_a_lost_race_is_retried_at_once_and_applies_the_change_once(require_postgres, monkeypatch):
    """The first attempt loses to a concurrent writer; the second succeeds in the same
    delivery: handled, one inbox row, no failure row, the handler's change appended once."""
    require_postgres("orders")
    order = PlaceOrderFactory.create()

    def concurrent(n: int) -> int:
        new = {order.customer_id: {**AddressFactory(), "street": f"Concurrent {n}"}}
        return send(commands.ChangeShippingAddresses(addresses=new)).value_or_raise()

    appends = interleaving(monkeypatch, concurrent, times=1)
    assert deliver(address_updated(order.customer_id, "Handler Road")) == {CONSUMER: HANDLED}

    assert appends == [2], "the handler appended once, lost, and again after the retry"
    assert orders.get(order.id).shipping_address.street == "Handler Road"
    # placed, the concurrent change, the handler's change: once
    assert OrderEvent.objects.filter(stream_id=str(order.id)).count() == 3
    assert InboxEntry.objects.filter(consumer=CONSUMER).count() == 1
    assert not FailedDelivery.objects.exists()


def test_a_race_lost_every_time_becomes_a_failure_to_retry_later(require_postgres, monkeypatch):
    """Lost on each of the immediate attempts: recorded as a failed delivery (retried with
    backoff), with nothing of the handler's written and no inbox row."""
    require_postgres("orders")
    order = PlaceOrderFactory.create()

    def concurrent(n: int) -> int:
        new = {order.customer_id: {**AddressFactory(), "street": f"Concurrent {n}"}}
        return send(commands.ChangeShippingAddresses(addresses=new)).value_or_raise()

    interleaving(monkeypatch, concurrent, times=CONFLICT_RETRIES)
    assert deliver(address_updated(order.customer_id, "Handler Road")) == {CONSUMER: "failed"}
    failure = FailedDelivery.objects.get(consumer=CONSUMER)
    assert failure.status == "retrying" and "changed concurrently" in failure.last_error
    assert OrderEvent.objects.filter(stream_id=str(order.id)).count() == 1 + CONFLICT_RETRIES
    assert orders.get(order.id).shipping_address.street == f"Concurrent {CONFLICT_RETRIES}"
    assert not InboxEntry.objects.filter(consumer=CONSUMER).exists()
