"""A schema violation on the batch delivery path (``edn_core.bus.batch.deliver_batch``, which
the relay's local transport and the Celery consumer both use): that event alone becomes a dead
letter with the validation errors; the others of the batch are applied, once."""

import pytest

from edn_core.bus.batch import deliver_batch
from edn_core.bus.dispatch import DEAD_LETTERED, DUPLICATE, HANDLED
from edn_core.bus.stores import store_for
from edn_core.events import IntegrationEvent
from orders.models import OrderEvent
from tests.orders.factories import PlaceOrderFactory, stored_order
from tests.support.events import address_updated

pytestmark = pytest.mark.django_db(databases="__all__")
TOPIC = "v1.CustomerAddressUpdated"
CONSUMER = "orders.update_shipping_address_of_open_orders"


def address_changed(customer_id, city: str) -> IntegrationEvent:
    address = {"street": "1 Rue", "city": city, "state": "R", "country": "FR", "postalCode": "6"}
    return address_updated(customer_id, address)


def stream_length(order) -> int:
    return OrderEvent.objects.using("orders").filter(stream_id=str(order.id)).count()


def test_one_invalid_event_in_a_batch_is_a_dead_letter_and_the_others_are_applied_once():
    """The invalid event (an empty city breaks minLength) is dead-lettered naming the data
    path; its neighbours each get one inbox row and one new order event, delivering the
    batch again applies nothing twice and keeps a single dead letter."""
    orders = [PlaceOrderFactory.create() for _ in range(3)]
    lengths = [stream_length(order) for order in orders]
    events = [
        address_changed(orders[0].customer_id, "Lyon"),
        address_changed(orders[1].customer_id, ""),
        address_changed(orders[2].customer_id, "Nice"),
    ]
    batch = [event.to_json() for event in events]

    assert deliver_batch(batch) == {HANDLED: 2, DEAD_LETTERED: 1}
    assert deliver_batch(batch) == {DUPLICATE: 2, DEAD_LETTERED: 1}

    store = store_for("orders")
    inbox = store.rows(store.inbox).filter(consumer=CONSUMER)
    assert sorted(inbox.values_list("event_id", flat=True)) == sorted([events[0].id, events[2].id])
    failures = store.rows(store.failures).filter(consumer=CONSUMER)
    assert [(f.event_id, f.status) for f in failures] == [(events[1].id, failures[0].DEAD)]
    assert "shippingAddress.city" in failures[0].last_error
    assert [stream_length(order) for order in orders] == [
        lengths[0] + 1,
        lengths[1],
        lengths[2] + 1,
    ]
    cities = [stored_order(order.id).shipping_address.city for order in orders]
    assert cities == ["Lyon", orders[1].shipping_address.city, "Nice"]
