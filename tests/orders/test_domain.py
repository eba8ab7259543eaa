"""The Order aggregate, without a database."""

from decimal import Decimal

import pytest

from edn_core.domain import InvalidState, ValidationFailed, new_id
from orders.domain import (
    Address,
    Order,
    OrderCancelled,
    OrderImported,
    OrderItem,
    OrderPlaced,
    OrderShipped,
    OrderShippingAddressChanged,
    OrderState,
)

HOME = Address("1 Main St", "Springfield", "IL", "USA", "62701")
WORK = Address("2 Side St", "Springfield", "IL", "USA", "62702")


def item(price="7.50", quantity=3, name="Widget", product_id=None) -> OrderItem:
    return OrderItem(product_id or new_id(), name, Decimal(price), quantity)


def place(*items: OrderItem) -> Order:
    return Order.place(
        new_id(), customer_id=new_id(), shipping_address=HOME, items=list(items or [item()])
    )


def in_state(state: OrderState) -> Order:
    """An order loaded in ``state`` (as the repository would), with no pending events."""
    imported = OrderImported(
        aggregate_id=new_id(),
        customer_id=new_id(),
        shipping_address=HOME,
        items=(item(),),
        state=state,
    )
    return Order.from_history(imported.aggregate_id, [imported])


def test_place_creates_the_order_and_records_order_placed():
    line = item("7.50", 3)
    customer_id = new_id()
    order = Order.place(new_id(), customer_id=customer_id, shipping_address=HOME, items=[line])
    assert order.state is OrderState.PENDING  # the create-order saga confirms or rejects it
    assert order.items == (line,)
    assert order.rejection_reason == ""
    (event,) = order.pending_events
    assert isinstance(event, OrderPlaced)
    assert event.aggregate_id == order.id and event.customer_id == customer_id
    assert event.items == (line,)
    assert event.order_total == Decimal("22.50")


def test_order_total_is_the_sum_of_price_times_quantity():
    assert place(item("7.50", 3)).order_total == Decimal("22.50")
    assert str(place(item("7.50", 3)).order_total) == "22.50"
    total = place(item("7.50", 3), item("0.99", 2), item("0.00", 5)).order_total
    assert total == Decimal("24.48")


def test_place_needs_at_least_one_line():
    with pytest.raises(ValidationFailed) as error:
        Order.place(new_id(), customer_id=new_id(), shipping_address=HOME, items=[])
    assert "items" in error.value.errors


def test_place_refuses_two_lines_of_one_product():
    product = new_id()
    with pytest.raises(ValidationFailed) as error:
        place(item(product_id=product), item("1.00", 1, "Other", product_id=product))
    assert "items" in error.value.errors


def test_ship_moves_a_created_order_to_shipped():
    order = in_state(OrderState.CREATED)
    order.ship()
    assert order.state is OrderState.SHIPPED
    (event,) = order.pending_events
    assert isinstance(event, OrderShipped)
    assert (event.aggregate_id, event.customer_id) == (order.id, order.customer_id)


@pytest.mark.parametrize(
    "state",
    [OrderState.PENDING, OrderState.REJECTED, OrderState.SHIPPED, OrderState.CANCELLED],
)
def test_ship_only_from_created(state):
    order = in_state(state)
    with pytest.raises(InvalidState):
        order.ship()
    assert order.state is state
    assert order.pending_events == ()


@pytest.mark.parametrize("state", [OrderState.PENDING, OrderState.CREATED])
def test_cancel_an_open_order(state):
    order = in_state(state)
    order.cancel()
    assert order.state is OrderState.CANCELLED
    (event,) = order.pending_events
    assert isinstance(event, OrderCancelled)
    assert (event.aggregate_id, event.customer_id) == (order.id, order.customer_id)


@pytest.mark.parametrize("state", [OrderState.SHIPPED, OrderState.CANCELLED, OrderState.REJECTED])
def test_cancel_refused_once_closed(state):
    order = in_state(state)
    with pytest.raises(InvalidState):
        order.cancel()
    assert order.state is state
    assert order.pending_events == ()


@pytest.mark.parametrize("state", [OrderState.PENDING, OrderState.CREATED])
def test_new_address_changes_an_open_order_and_records_the_change(state):
    order = in_state(state)
    order.change_shipping_address(WORK)
    assert order.shipping_address == WORK
    (event,) = order.pending_events
    assert isinstance(event, OrderShippingAddressChanged)
    assert event.shipping_address == WORK and event.aggregate_id == order.id


def test_same_address_records_nothing():
    order = in_state(OrderState.CREATED)
    order.change_shipping_address(Address("1 Main St", "Springfield", "IL", "USA", "62701"))
    assert order.shipping_address == HOME
    assert order.pending_events == ()


@pytest.mark.parametrize("state", [OrderState.SHIPPED, OrderState.CANCELLED, OrderState.REJECTED])
def test_closed_orders_keep_their_address(state):
    order = in_state(state)
    order.change_shipping_address(WORK)
    assert order.shipping_address == HOME
    assert order.pending_events == ()


@pytest.mark.parametrize(
    ("price", "quantity", "name"),
    [
        ("7.50", 0, "Widget"),
        ("7.50", -1, "Widget"),
        ("-0.01", 1, "Widget"),
        ("7.50", 1, ""),
        ("7.50", 1, "   "),
    ],
)
def test_order_item_refuses_broken_invariants(price, quantity, name):
    with pytest.raises(ValidationFailed) as error:
        item(price, quantity, name)
    assert "items" in error.value.errors


def test_order_item_accepts_the_boundaries():
    line = item("0.00", 1, "Free sample")
    assert line.total == Decimal("0.00")
    assert item("7.50", 3).total == Decimal("22.50")


def test_address_parts_may_not_be_blank():
    with pytest.raises(ValidationFailed) as error:
        Address("", "c", "s", " ", "p")
    assert set(error.value.errors) == {"shipping_address.street", "shipping_address.country"}


def test_confirm_makes_a_pending_order_created_once():
    order = in_state(OrderState.PENDING)
    order.confirm()
    assert order.state is OrderState.CREATED and len(order.pending_events) == 1
    with pytest.raises(InvalidState):
        order.confirm()


@pytest.mark.parametrize("state", [OrderState.PENDING, OrderState.CREATED])
def test_reject_closes_an_open_order_with_its_reason(state):
    order = in_state(state)
    order.reject("Not enough credit")
    assert (order.state, order.rejection_reason) == (OrderState.REJECTED, "Not enough credit")


@pytest.mark.parametrize("state", [OrderState.SHIPPED, OrderState.CANCELLED, OrderState.REJECTED])
def test_reject_leaves_a_closed_order_alone(state):
    order = in_state(state)
    order.reject("too late")
    assert order.state is state and not order.pending_events
