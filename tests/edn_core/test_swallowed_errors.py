"""An error caught inside a transaction it already broke (a failure in a block without a
savepoint) must not pass for success: a delivery is recorded as failed instead of handled,
and ``send`` raises instead of returning a refusal."""

import contextlib
from dataclasses import dataclass

import pytest
from django.db import transaction

from edn_core.bus.dispatch import FAILED, HANDLED, deliver
from edn_core.bus.subscriptions import subscribe, unsubscribe
from edn_core.cqrs import Command, Outcome, handles, send
from edn_core.domain import ConcurrencyConflict
from orders.models import FailedDelivery, InboxEntry
from tests.edn_core.test_bus import TOPIC, ping, register_test_topic

pytestmark = pytest.mark.django_db(databases="__all__")


def conflict_without_savepoint() -> None:
    with transaction.atomic(using="orders", savepoint=False):
        raise ConcurrencyConflict("lost a race", expected=1, actual=2)


@dataclass(frozen=True, kw_only=True)
class LoseARace(Command):
    pass


@handles(LoseARace)
def lose_a_race(cmd: LoseARace) -> None:
    conflict_without_savepoint()


@pytest.fixture
def swallowing_handler():
    register_test_topic()

    def swallows(event):
        with contextlib.suppress(ConcurrencyConflict):  # as if refused; the transaction broke
            conflict_without_savepoint()

    subscribe(TOPIC, app="orders")(swallows)
    yield
    unsubscribe("orders.swallows")


def test_a_delivery_whose_transaction_a_handler_broke_is_a_failure(swallowing_handler):
    assert deliver(ping("a", n=1)) == {"orders.swallows": FAILED}
    assert not InboxEntry.objects.filter(consumer="orders.swallows").exists()
    failure = FailedDelivery.objects.get(consumer="orders.swallows")
    assert "swallowed" in failure.last_error


def test_a_batch_with_such_a_handler_falls_back_and_records_failures(swallowing_handler):
    from edn_core.bus.batch import deliver_batch

    assert deliver_batch([ping("a", n=1), ping("b", n=2)]) == {FAILED: 2}
    assert FailedDelivery.objects.filter(consumer="orders.swallows").count() == 2


def test_send_raises_when_the_refusal_broke_the_enclosing_transaction():
    with pytest.raises(ConcurrencyConflict), transaction.atomic(using="orders"):
        send(LoseARace())


@pytest.mark.django_db(databases="__all__", transaction=True)  # no test transaction around it
def test_send_returns_the_refusal_when_nothing_encloses_it():
    assert send(LoseARace()).outcome == Outcome.PRECONDITION_FAILED  # the refusal, returned


def test_a_handler_that_refuses_cleanly_is_still_handled():
    register_test_topic()

    def refuses(event):
        # a savepoint around the failing block: the refusal is contained
        with transaction.atomic(using="orders"), contextlib.suppress(ConcurrencyConflict):
            conflict_without_savepoint()

    subscribe(TOPIC, app="orders")(refuses)
    try:
        assert deliver(ping("c", n=1)) == {"orders.refuses": HANDLED}
    finally:
        unsubscribe("orders.refuses")
