"""Credit reservations for sagas: each applied at most once, whatever order requests arrive in."""

from decimal import Decimal

import pytest

from customers.commands import CreditRequest, ReleaseCredits, ReserveCredits
from customers.models import CreditReservation, CustomerRecord
from edn_core.cqrs import send
from tests.customers.factories import CreateCustomerFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def _available(customer) -> Decimal:
    row = CustomerRecord.objects.get(pk=customer.id)
    return row.credit_limit - row.credit_reserved


def _reserve(customer, amount: str, reservation: str):
    request = CreditRequest(
        customer_id=customer.id, amount=Decimal(amount), reservation=reservation
    )
    return send(ReserveCredits(requests=[request])).value_or_raise()[0]


def _release(reservation: str):
    return send(ReleaseCredits(reservations=[reservation])).value_or_raise()[0]


def test_a_repeated_reserve_holds_once_and_answers_the_same():
    customer = CreateCustomerFactory.create(credit_limit=Decimal("100.00"))
    assert _reserve(customer, "22.50", "saga-1").ok
    assert _reserve(customer, "22.50", "saga-1").ok
    assert _available(customer) == Decimal("77.50")


def test_release_gives_back_what_was_held_once():
    customer = CreateCustomerFactory.create(credit_limit=Decimal("100.00"))
    _reserve(customer, "22.50", "saga-1")
    assert _release("saga-1").detail["amount"] == "22.50"
    _release("saga-1")
    assert _available(customer) == Decimal("100.00")
    assert CreditReservation.objects.get(reservation="saga-1").state == "released"


def test_a_release_that_overtakes_its_reserve_leaves_a_tombstone():
    customer = CreateCustomerFactory.create(credit_limit=Decimal("100.00"))
    assert _release("saga-1").ok
    late = _reserve(customer, "22.50", "saga-1")
    assert not late.ok and "released before reserved" in late.reason
    assert _available(customer) == Decimal("100.00")


def test_a_refused_reserve_holds_nothing_and_stays_refused():
    customer = CreateCustomerFactory.create(credit_limit=Decimal("10.00"))
    first = _reserve(customer, "22.50", "saga-1")
    assert not first.ok and "10.00 credit available" in first.reason
    assert _reserve(customer, "5.00", "saga-1").reason == first.reason  # same answer again
    _release("saga-1")
    assert _available(customer) == Decimal("10.00")


def test_an_unknown_customer_is_a_refusal_not_an_error():
    import uuid

    class Ghost:
        id = uuid.uuid4()

    outcome = _reserve(Ghost, "1.00", "saga-1")
    assert not outcome.ok and "does not exist" in outcome.reason
