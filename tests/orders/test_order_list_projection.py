"""The orders list (``order_list`` projection, ``OrderView``): one row per order at its latest
version, from every order event; rebuilt beside the live rows; redacted after a forget."""

import io
import uuid
from decimal import Decimal

import pytest
from django.core.management import call_command

from edn_core.eventsourcing import running
from edn_core.eventsourcing.projections import get
from edn_core.testing import EventBus
from orders.domain import (
    Address,
    OrderCancelled,
    OrderConfirmed,
    OrderImported,
    OrderItem,
    OrderPlaced,
    OrderRejected,
    OrderShipped,
    OrderShippingAddressChanged,
    OrderState,
)
from orders.projections import live_orders, order_list
from orders.store import store

pytestmark = pytest.mark.django_db(databases="__all__")

HOME = Address("1 Main St", "Springfield", "IL", "US", "62701")
WORK = Address("2 Side St", "Springfield", "IL", "US", "62702")
ITEMS = (
    OrderItem(uuid.uuid4(), "Widget", Decimal("7.50"), 3),
    OrderItem(uuid.uuid4(), "Gadget", Decimal("0.25"), 2),
)


def placed(order_id, customer_id) -> OrderPlaced:
    return OrderPlaced(
        aggregate_id=order_id,
        customer_id=customer_id,
        shipping_address=HOME,
        items=ITEMS,
        order_total=Decimal("23.00"),
    )


def write(order_id, *events) -> list:
    """Append ``events`` to the order's stream, each in its own transaction."""
    written = []
    for event in events:
        with store.atomic():
            version = len(store.read(order_id))
            written += store.append(order_id, version, [event])
    return written


def row_of(order_id):
    return live_orders().get(order_id=order_id)


def test_every_order_event_shapes_the_row():
    customer = uuid.uuid4()
    shipped, rejected, cancelled = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    stored = write(
        shipped,
        placed(shipped, customer),
        OrderConfirmed(aggregate_id=shipped),
        OrderShippingAddressChanged(
            aggregate_id=shipped, customer_id=customer, shipping_address=WORK
        ),
        OrderShipped(aggregate_id=shipped, customer_id=customer),
    )
    write(rejected, placed(rejected, customer), OrderRejected(aggregate_id=rejected, reason="no"))
    write(
        cancelled,
        placed(cancelled, customer),
        OrderCancelled(aggregate_id=cancelled, customer_id=customer),
    )
    EventBus().run_until_quiet()

    row = row_of(shipped)
    assert (row.state, row.version, row.customer_id) == ("Shipped", 4, customer)
    assert row.shipping_address == {
        "street": "2 Side St",
        "city": "Springfield",
        "state": "IL",
        "country": "US",
        "postal_code": "62702",
    }
    assert row.items == [
        {
            "product_id": str(i.product_id),
            "product_name": i.product_name,
            "product_price": str(i.product_price),
            "quantity": i.quantity,
        }
        for i in ITEMS
    ]
    assert row.order_total == Decimal("23.00")
    assert (row.placed_at, row.updated_at) == (stored[0].recorded_at, stored[-1].recorded_at)
    assert (row_of(rejected).state, row_of(rejected).rejection_reason) == ("Rejected", "no")
    assert row_of(cancelled).state == "Cancelled"
    assert live_orders().filter(customer_id=customer).count() == 3


def test_an_imported_order_keeps_its_state_and_version():
    order_id = uuid.uuid4()
    imported = OrderImported(
        aggregate_id=order_id,
        customer_id=uuid.uuid4(),
        shipping_address=HOME,
        items=ITEMS,
        state=OrderState.CREATED,
    )
    write(order_id, imported, OrderConfirmed(aggregate_id=order_id))  # v2 stands for later ones
    EventBus().run_until_quiet()
    row = row_of(order_id)
    assert (row.state, row.version, row.order_total) == ("Created", 2, Decimal("23.00"))


def test_commands_reach_the_list_once_the_bus_is_quiet():
    from tests.orders.factories import PlaceOrderFactory, confirm, ship

    order = ship(confirm(PlaceOrderFactory.create()))
    bus = EventBus()
    bus.run_until_quiet()
    row = row_of(order.id)
    assert (row.state, row.version) == ("Shipped", order.version)
    assert get("order_list") is order_list


def test_rebuild_swaps_in_a_generation_equal_to_the_live_one():
    customer = uuid.uuid4()
    orders = [uuid.uuid4() for _ in range(5)]
    for order_id in orders:
        write(order_id, placed(order_id, customer), OrderConfirmed(aggregate_id=order_id))
    EventBus().run_until_quiet()
    fields = ("order_id", "version", "state", "shipping_address", "items", "order_total")
    before = sorted(live_orders().values_list(*fields))
    out = io.StringIO()
    call_command("edn_projections", "rebuild", "order_list", stdout=out)
    assert "generation 2 is live" in out.getvalue()
    assert order_list.live_generation() == 2
    assert sorted(live_orders().values_list(*fields)) == before
    assert running.states(order_list).count() == 1
