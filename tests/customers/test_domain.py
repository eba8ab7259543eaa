"""The Customer aggregate, without a database."""

from decimal import Decimal

import pytest

from customers.domain import (
    Address,
    Customer,
    CustomerAddressUpdated,
    CustomerCreated,
    CustomerDeleted,
    CustomerUpdated,
)
from edn_core.domain import InvalidState, ValidationFailed, new_id

HOME = Address("1 Main St", "Springfield", "IL", "USA", "62701")
WORK = Address("2 Side St", "Springfield", "IL", "USA", "62702")


def make(**overrides) -> Customer:
    details = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "shipping_address": HOME,
        "credit_limit": Decimal("100"),
    }
    details.update(overrides)
    return Customer.create(new_id(), **details)


def test_create_records_created_and_all_credit_is_available():
    customer = make()
    assert [type(e) for e in customer.pending_events] == [CustomerCreated]
    assert customer.credit_available == Decimal("100")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"first_name": " "}, "first_name"),
        ({"last_name": ""}, "last_name"),
        ({"first_name": "x" * 101}, "first_name"),
        ({"credit_limit": Decimal("-1")}, "credit_limit"),
    ],
)
def test_create_refuses_broken_invariants(overrides, field):
    with pytest.raises(ValidationFailed) as error:
        make(**overrides)
    assert field in error.value.errors


def test_address_parts_may_not_be_blank():
    with pytest.raises(ValidationFailed) as error:
        Address("", "c", "s", " ", "p")
    assert set(error.value.errors) == {"shipping_address.street", "shipping_address.country"}


def test_new_address_records_address_updated_only_when_it_changed():
    customer = make()
    customer.pull_events()
    customer.update(shipping_address=HOME)
    assert customer.pending_events == ()
    customer.update(shipping_address=WORK)
    (event,) = customer.pending_events
    assert isinstance(event, CustomerAddressUpdated) and event.shipping_address == WORK


def test_name_or_limit_change_records_customer_updated():
    customer = make()
    customer.pull_events()
    customer.update(first_name="Augusta", credit_limit=Decimal("150"))
    (event,) = customer.pending_events
    assert isinstance(event, CustomerUpdated)
    assert (customer.first_name, customer.credit_limit) == ("Augusta", Decimal("150"))


def test_limit_cannot_drop_below_reserved_credit():
    customer = make()
    customer.credit_reserved = Decimal("80")
    with pytest.raises(InvalidState):
        customer.update(credit_limit=Decimal("50"))
    assert customer.credit_limit == Decimal("100")


def test_delete_refused_while_credit_is_reserved():
    customer = make()
    customer.credit_reserved = Decimal("1")
    with pytest.raises(InvalidState):
        customer.delete()
    customer.credit_reserved = Decimal("0")
    customer.delete()
    assert isinstance(customer.pending_events[-1], CustomerDeleted)


def test_reserving_credit_reduces_what_is_available():
    customer = make(credit_limit=Decimal("100"))
    customer.reserve_credit(Decimal("22.50"), "order-1")
    assert customer.credit_available == Decimal("77.50")
    customer.release_credit(Decimal("22.50"), "order-1")
    assert customer.credit_available == Decimal("100")


def test_credit_cannot_be_reserved_beyond_the_limit():
    customer = make(credit_limit=Decimal("20"))
    customer.pull_events()
    with pytest.raises(InvalidState):
        customer.reserve_credit(Decimal("22.50"), "order-1")
    assert customer.credit_available == Decimal("20") and customer.pending_events == ()


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-1")])
def test_credit_amounts_are_positive(amount):
    with pytest.raises(ValidationFailed):
        make().reserve_credit(amount, "order-1")
    with pytest.raises(ValidationFailed):
        make().release_credit(Decimal("1"), "nothing-reserved")
