"""The create-order saga through the HTTP API in one process (the seed's scenarios)."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from edn_core.cqrs import send
from edn_core.testing import EventBus
from sagas.commands import ExpireOverdueSteps
from sagas.models import SagaRecord
from tests.sagas.helpers import credit_available, new_customer, new_product, place, saga_of, stock

pytestmark = pytest.mark.django_db(databases="__all__")


def test_success_reserves_credit_and_stock_and_creates_the_order(api):
    bus = EventBus()
    customer, product = new_customer(api, "100.00"), new_product(api, 9)
    placed = place(api, customer, product, price="7.50", quantity=3)
    bus.run_until_quiet()
    order = api.get(placed["Location"]).json()
    assert (order["state"], order["rejectionReason"]) == ("Created", "")
    assert (credit_available(api, customer), stock(api, product)) == ("77.50", 6)
    saga = saga_of(api, order["id"])
    assert (saga["type"], saga["state"], saga["reason"]) == ("CreateOrder", "Executed", "")
    assert [(s["name"], s["action"]["state"]) for s in saga["steps"]] == [
        ("CreateOrder", "Succeeded"),
        ("ReserveCustomerCredit", "Succeeded"),
        ("ReserveProductInventory", "Succeeded"),
        ("SetOrderStateCreated", "Succeeded"),
    ]
    credit = saga["steps"][1]["action"]
    assert [m["topic"] for m in credit["sent"]] == ["v1.CustomerCreditReserveRequested"]
    assert [m["topic"] for m in credit["received"]] == ["v1.CustomerCreditReserved"]
    # the step took from its request to its reply, as stored: > 0, within the saga's life
    row = SagaRecord.objects.get(pk=saga["id"])
    stored = row.steps[1]["action"]
    took = datetime.fromisoformat(stored["endedAt"]) - datetime.fromisoformat(stored["startedAt"])
    assert credit["durationMs"] == pytest.approx(took.total_seconds() * 1000, abs=0.001)
    assert 0 < credit["durationMs"] <= (row.updated_at - row.created_at).total_seconds() * 1000
    assert bus.pending() == 0 and bus.dead_letters() == []
    # every command and reply of the saga carries its id as the correlation id
    assert {e.correlation_id for e in bus.published("v1.CustomerCreditReserved")} == {saga["id"]}


def test_not_enough_credit_rejects_the_order_and_reserves_nothing(api):
    bus = EventBus()
    customer, product = new_customer(api, "20.00"), new_product(api, 9)
    placed = place(api, customer, product, price="7.50", quantity=3)
    bus.run_until_quiet()
    order = api.get(placed["Location"]).json()
    assert order["state"] == "Rejected"
    assert "ReserveCustomerCredit" in order["rejectionReason"]
    assert "20.00 credit available, 22.50 requested" in order["rejectionReason"]
    assert (credit_available(api, customer), stock(api, product)) == ("20.00", 9)
    saga = saga_of(api, order["id"])
    assert saga["state"] == "Compensated"
    assert [s["compensation"]["state"] for s in saga["steps"]] == [
        "Succeeded", "NotStarted", "NotStarted", "NotStarted"
    ]  # fmt: skip
    assert bus.published("v1.InventoryReserveRequested") == []


def test_not_enough_stock_releases_the_credit_and_rejects_the_order(api):
    bus = EventBus()
    customer, product = new_customer(api, "100.00"), new_product(api, 2)
    placed = place(api, customer, product, price="7.50", quantity=3)
    bus.run_until_quiet()
    order = api.get(placed["Location"]).json()
    assert order["state"] == "Rejected"
    assert "ReserveProductInventory" in order["rejectionReason"]
    assert (credit_available(api, customer), stock(api, product)) == ("100.00", 2)
    saga = saga_of(api, order["id"])
    assert saga["state"] == "Compensated"
    compensations = [(s["name"], s["compensation"]["state"]) for s in saga["steps"]]
    assert compensations == [
        ("CreateOrder", "Succeeded"),
        ("ReserveCustomerCredit", "Succeeded"),
        ("ReserveProductInventory", "NotStarted"),  # it refused: it holds nothing
        ("SetOrderStateCreated", "NotStarted"),
    ]


def test_a_participant_that_never_answers_times_out_and_compensates(api, silent_inventory):
    bus = EventBus()
    customer, product = new_customer(api, "100.00"), new_product(api, 9)
    placed = place(api, customer, product)
    bus.run_until_quiet()
    order_id = placed.json()["id"]
    waiting = saga_of(api, order_id)
    assert (waiting["state"], waiting["currentStep"]) == ("Executing", "ReserveProductInventory")
    assert credit_available(api, customer) == "77.50"

    deadline = datetime.fromisoformat(waiting["deadline"])  # the step's own 30 s
    assert deadline <= timezone.now() + timedelta(seconds=30)
    assert send(ExpireOverdueSteps(now=deadline - timedelta(microseconds=1))).value == 0
    assert send(ExpireOverdueSteps(now=deadline)).value == 1
    bus.run_until_quiet()

    saga = saga_of(api, order_id)
    assert saga["state"] == "Compensated"
    assert "ReserveProductInventory: no reply within 30 s" in saga["reason"]
    steps = {s["name"]: s for s in saga["steps"]}
    assert steps["ReserveProductInventory"]["action"]["state"] == "TimedOut"
    # the timed-out step is compensated too: it may have acted before its answer was lost
    assert steps["ReserveProductInventory"]["compensation"]["state"] == "Succeeded"
    assert api.get(placed["Location"]).json()["state"] == "Rejected"
    assert (credit_available(api, customer), stock(api, product)) == ("100.00", 9)


def test_cancelling_a_created_order_gives_back_its_credit_and_stock(api):
    bus = EventBus()
    customer, product = new_customer(api, "100.00"), new_product(api, 9)
    placed = place(api, customer, product, price="7.50", quantity=3)
    bus.run_until_quiet()
    order = api.get(placed["Location"])
    assert order.json()["state"] == "Created"
    cancel = api.post(f"{placed['Location']}/cancel", HTTP_IF_MATCH=order["ETag"])
    assert cancel.status_code == 200
    bus.run_until_quiet()
    assert (credit_available(api, customer), stock(api, product)) == ("100.00", 9)
    bus.run_until_quiet()  # a second delivery of v1.OrderCancelled would change nothing
    assert (credit_available(api, customer), stock(api, product)) == ("100.00", 9)


def test_an_order_cancelled_while_pending_stops_its_saga(api):
    bus = EventBus()
    customer, product = new_customer(api, "100.00"), new_product(api, 9)
    placed = place(api, customer, product, price="7.50", quantity=3)
    cancel = api.post(f"{placed['Location']}/cancel", HTTP_IF_MATCH=placed["ETag"])
    assert cancel.status_code == 200
    bus.run_until_quiet()
    assert api.get(placed["Location"]).json()["state"] == "Cancelled"
    saga = saga_of(api, placed.json()["id"])
    assert saga["state"] == "Compensated"
    assert (credit_available(api, customer), stock(api, product)) == ("100.00", 9)
