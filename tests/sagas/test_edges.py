"""Edges of the saga engine in one process: a second start for one key, replies that name no
saga, the order service refusing a verdict, and the timeout sweeper racing a reply."""

import functools
import threading
import uuid
from datetime import datetime

import pytest
from django.db import connections, transaction

from edn_core.bus.outbox import append
from edn_core.bus.stores import store_for
from edn_core.bus.subscriptions import subscribe, subscriptions_for, unsubscribe
from edn_core.cqrs import send
from edn_core.events import message
from edn_core.testing import EventBus
from orders.commands import CancelOrder, SettleOrders
from sagas.commands import ExpireOverdueSteps, StartSagas
from sagas.domain import Saga
from sagas.models import OutboxMessage, SagaRecord
from tests.sagas.helpers import credit_available, new_customer, new_product, place, saga_of, stock

pytestmark = pytest.mark.django_db(databases="__all__")


def publish(app: str, topic: str, data: dict, correlation_id):
    """Put a reply on the bus as ``app`` would, correlated by ``correlation_id``."""
    event = message(app, topic, data, key=str(uuid.uuid4()), correlation_id="x")
    event = event.__class__(**{**event.__dict__, "correlation_id": correlation_id})
    with transaction.atomic(using=store_for(app).alias):
        append(app, [event])


def test_a_second_start_for_the_same_key_starts_nothing(api):
    """Proves: one saga per key; a repeated start (a redelivered OrderPlaced with a new id,
    or the key twice in one batch) inserts no saga and sends no command."""
    bus = EventBus()
    customer, product = new_customer(api), new_product(api)
    order_id = place(api, customer, product).json()["id"]
    bus.run_until_quiet()
    saga = SagaRecord.objects.get(key=order_id)
    sent = OutboxMessage.objects.count()
    again = send(StartSagas(saga_type="CreateOrder", datas=[saga.data, saga.data]))
    assert again.value_or_raise() == []
    assert SagaRecord.objects.filter(key=order_id).count() == 1
    assert SagaRecord.objects.get(key=order_id).version == saga.version
    assert OutboxMessage.objects.count() == sent
    # the key twice in one new batch: one saga, one first command
    other = {**saga.data, "orderId": str(uuid.uuid4())}
    (started,) = send(StartSagas(saga_type="CreateOrder", datas=[other, other])).value
    assert SagaRecord.objects.filter(key=other["orderId"]).count() == 1
    assert OutboxMessage.objects.filter(aggregate_id=str(started.id)).count() == 1


@pytest.mark.parametrize(
    "correlation_id",
    [str(uuid.uuid4()), "not-a-uuid", "", None],
    ids=["unknown-uuid", "not-a-uuid", "empty", "none"],
)
def test_a_reply_that_names_no_saga_is_ignored_without_a_dead_letter(api, correlation_id):
    """Proves: a reply whose correlation id is an unknown saga id, not a UUID, or missing (the
    envelope then falls back to the event's own id) is consumed and ignored (logged): no
    crash, no retry, no dead letter, no saga changed."""
    bus = EventBus()
    customer, product = new_customer(api), new_product(api)
    order_id = place(api, customer, product).json()["id"]
    bus.run_until_quiet()
    before = list(SagaRecord.objects.values_list("id", "version", "state"))
    data = {"reservation": order_id, "customerId": customer["id"], "amount": "22.50"}
    publish("customers", "v1.CustomerCreditReserved", data, correlation_id)
    assert bus.run_until_quiet(fast_forward=True) >= 1
    assert bus.dead_letters() == [] and bus.pending() == 0
    assert list(SagaRecord.objects.values_list("id", "version", "state")) == before
    assert saga_of(api, order_id)["state"] == "Executed"


def test_settle_orders_refuses_an_unknown_order():
    """Proves: SettleOrders answers a verdict for an order that does not exist with a refusal
    and its reason (a closed order's refusal: the cancel test below)."""
    unknown = uuid.uuid4()
    (answer,) = send(SettleOrders(verdicts=[(unknown, None)])).value
    assert not answer.ok and answer.reason == f"order {unknown} does not exist."


def test_an_order_cancelled_before_its_confirm_fails_the_step_and_compensates(api):
    """Proves: the order service refusing the confirm (SettleOrders: the order was cancelled)
    replies OrderConfirmFailed with its reason; the saga compensates and gives all back."""
    bus = EventBus()
    customer, product = new_customer(api), new_product(api)
    placed = place(api, customer, product)
    order_id = placed.json()["id"]
    (confirm,) = subscriptions_for("v1.OrderConfirmRequested")

    @functools.wraps(confirm.handler)
    def cancel_first(events):  # the customer cancels just before the confirm is handled
        send(CancelOrder(order_id=uuid.UUID(order_id), expected_version=None)).value_or_raise()
        confirm.handler(events)

    unsubscribe(confirm.consumer)
    subscribe(confirm.topic, app=confirm.app_label, batch=confirm.batch)(cancel_first)
    try:
        bus.run_until_quiet()
    finally:
        unsubscribe(confirm.consumer)
        subscribe(confirm.topic, app=confirm.app_label, batch=confirm.batch)(confirm.handler)
    (failed,) = bus.published("v1.OrderConfirmFailed")
    assert "Cancelled" in failed.data["reason"], failed.data
    saga = saga_of(api, order_id)
    assert saga["state"] == "Compensated"
    assert saga["steps"][3]["action"]["state"] == "Failed"
    assert failed.data["reason"] in saga["reason"]
    assert api.get(placed["Location"]).json()["state"] == "Cancelled"
    assert (credit_available(api, customer), stock(api, product)) == ("100.00", 9)
    assert bus.dead_letters() == []


def hold(monkeypatch, method: str):
    """Stop the first call of ``Saga.<method>`` (after its saga was loaded, before it is saved)
    until the test lets it go; return (reached, go) events."""
    reached, go, original = threading.Event(), threading.Event(), getattr(Saga, method)

    def held(self, *args, **kwargs):
        if not reached.is_set():
            reached.set()
            assert go.wait(60), "the test never let the held call go"
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Saga, method, held)
    return reached, go


def in_thread(target):
    result = {}

    def run():
        try:
            result["value"] = target()
        except BaseException as error:  # handed to the test
            result["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def inventory_reply(saga: dict) -> None:
    lines = [
        {"productId": i["productId"], "quantity": i["quantity"]} for i in saga["data"]["items"]
    ]
    data = {"reservation": saga["key"], "lines": lines}
    publish("inventory", "v1.InventoryReserved", data, saga["id"])


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_reply_that_lands_while_the_sweeper_holds_the_saga_wins(
    api, monkeypatch, require_postgres, waiting_saga
):
    """Proves: the sweeper loaded an overdue saga, a reply is applied before it saves: the
    sweeper's save loses (optimistic concurrency) and skips it; the reply's outcome stands."""
    require_postgres("sagas")  # two connections at once
    saga, bus = waiting_saga
    reached, go = hold(monkeypatch, "expire")
    deadline = datetime.fromisoformat(saga["deadline"])
    sweeper, swept = in_thread(lambda: send(ExpireOverdueSteps(now=deadline)).value_or_raise())
    assert reached.wait(60)
    inventory_reply(saga)
    bus.run_until_quiet()  # the reply is applied and committed while the sweeper waits
    go.set()
    sweeper.join(60)
    assert swept == {"value": 0}
    bus.run_until_quiet()
    after = saga_of(api, saga["key"])
    assert after["state"] == "Executed"
    assert [s["action"]["state"] for s in after["steps"]] == ["Succeeded"] * 4
    assert bus.published("v1.InventoryReleaseRequested") == []


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_timeout_swept_while_a_reply_is_held_wins(
    api, monkeypatch, require_postgres, waiting_saga
):
    """Proves: a reply loaded its saga, the sweeper expires the step before it saves: the
    reply's save loses, is applied again on the reloaded saga and noted as ignored; the
    timeout's compensation stands."""
    require_postgres("sagas")  # two connections at once
    saga, bus = waiting_saga
    inventory_reply(saga)
    reached, go = hold(monkeypatch, "on_reply")
    consumer, _ = in_thread(bus.run_until_quiet)
    assert reached.wait(60)
    deadline = datetime.fromisoformat(saga["deadline"])
    assert send(ExpireOverdueSteps(now=deadline)).value_or_raise() == 1
    go.set()
    consumer.join(60)
    bus.run_until_quiet()
    after = saga_of(api, saga["key"])
    assert after["state"] == "Compensated"
    inventory = after["steps"][2]
    assert inventory["action"]["state"] == "TimedOut"
    assert [m.get("ignored") for m in inventory["action"]["received"]] == [True]
    assert bus.published("v1.OrderConfirmRequested") == []
    assert bus.dead_letters() == []


@pytest.fixture
def waiting_saga(api, silent_inventory):
    """A create-order saga waiting for inventory's answer (inventory never answers)."""
    bus = EventBus()
    customer, product = new_customer(api), new_product(api)
    order_id = place(api, customer, product).json()["id"]
    bus.run_until_quiet()
    saga = saga_of(api, order_id)
    assert (saga["state"], saga["currentStep"]) == ("Executing", "ReserveProductInventory")
    return saga, bus
