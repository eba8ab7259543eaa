"""The Product aggregate, without a database."""

import pytest

from edn_core.domain import InvalidState, ValidationFailed, new_id
from inventory.domain import Product, StockReleased, StockReserved


def product(amount: int = 9) -> Product:
    made = Product.create(new_id(), description="Widget", amount_available=amount)
    made.pull_events()
    return made


def test_reserve_takes_stock_and_records_the_new_amount():
    widget = product(9)
    widget.reserve(3, "order-1")
    (event,) = widget.pending_events
    assert isinstance(event, StockReserved)
    assert (widget.amount_available, event.amount_available, event.quantity) == (6, 6, 3)


def test_cannot_reserve_more_than_available():
    widget = product(2)
    with pytest.raises(InvalidState):
        widget.reserve(3, "order-1")
    assert widget.amount_available == 2 and widget.pending_events == ()


def test_release_returns_stock():
    widget = product(6)
    widget.release(3, "order-1")
    assert widget.amount_available == 9
    assert isinstance(widget.pending_events[0], StockReleased)


@pytest.mark.parametrize(("description", "amount"), [("", 1), ("x" * 201, 1), ("ok", -1)])
def test_create_refuses_broken_invariants(description, amount):
    with pytest.raises(ValidationFailed):
        Product.create(new_id(), description=description, amount_available=amount)


@pytest.mark.parametrize("quantity", [0, -2])
def test_quantities_are_positive(quantity):
    with pytest.raises(ValidationFailed):
        product().reserve(quantity, "order-1")
