"""Record the create-order saga's histories (tests/sagas/histories/*.json) by running the real
saga in-process, through the HTTP API and the test bus, as tests/sagas/test_flows.py does.

Not collected by the suite (its name does not start with ``test_``): run it on purpose, and
commit the files it writes, when the recorded behaviour should change (docs/sagas-replay.md)::

    DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/pytest -p no:cacheprovider \\
        tests/sagas/record_histories.py
"""

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from edn_core.bus.relay import drain
from edn_core.bus.stores import store_for
from edn_core.bus.subscriptions import subscribe, subscriptions_for, unsubscribe
from edn_core.cqrs import send
from edn_core.testing import EventBus
from orders.commands import CancelOrder
from sagas.commands import CancelSaga, ExpireOverdueSteps, RetryCompensation
from sagas.history import ROW_FIELDS, recording_of
from sagas.models import SagaRecord
from tests.sagas.helpers import new_customer, new_product, place

HISTORIES = Path(__file__).parent / "histories"
pytestmark = pytest.mark.django_db(databases="__all__")


def write(name: str, order_id: str) -> dict:
    """Write the saga of ``order_id`` as ``histories/<name>.json``; return the recording."""
    row = SagaRecord.objects.filter(key=order_id).values(*ROW_FIELDS).get()
    recording = recording_of(row)
    (HISTORIES / f"{name}.json").write_text(json.dumps(recording, indent=1, sort_keys=True) + "\n")
    return recording


def placed(api, credit="100.00", stock=9) -> str:
    """Place one order of 3 x 7.50 and return its id."""
    response = place(api, new_customer(api, credit), new_product(api, stock))
    return response.json()["id"]


def waiting_deadline(order_id: str) -> datetime:
    return SagaRecord.objects.get(key=order_id).deadline


@pytest.mark.parametrize(
    ("name", "credit", "stock", "end"),
    [
        ("create-order-success", "100.00", 9, "Executed"),
        ("create-order-credit-refused", "20.00", 9, "Compensated"),
        ("create-order-stock-refused", "100.00", 2, "Compensated"),
    ],
)
def test_record_a_saga_the_participants_answer(api, name, credit, stock, end):
    """Record a saga whose every request is answered (success, or a participant refuses)."""
    bus = EventBus()
    order_id = placed(api, credit, stock)
    bus.run_until_quiet()
    assert write(name, order_id)["state"] == end


def test_record_a_confirm_that_fails(api):
    """Record a saga whose last step fails: the order is cancelled just before its confirm."""
    bus = EventBus()
    order_id = placed(api)
    (confirm,) = subscriptions_for("v1.OrderConfirmRequested")

    def cancel_first(events):
        send(CancelOrder(order_id=uuid.UUID(order_id), expected_version=None)).value_or_raise()
        confirm.handler(events)

    unsubscribe(confirm.consumer)
    subscribe(confirm.topic, app=confirm.app_label, batch=confirm.batch)(cancel_first)
    try:
        bus.run_until_quiet()
    finally:
        unsubscribe(confirm.consumer)
        subscribe(confirm.topic, app=confirm.app_label, batch=confirm.batch)(confirm.handler)
    recording = write("create-order-confirm-failed", order_id)
    assert any(e["topic"] == "v1.OrderConfirmFailed" for e in recording["history"])


def test_record_a_timeout(api, silent_inventory):
    """Record a saga whose inventory step times out and compensates."""
    bus = EventBus()
    order_id = placed(api)
    bus.run_until_quiet()
    send(ExpireOverdueSteps(now=waiting_deadline(order_id))).value_or_raise()
    bus.run_until_quiet()
    assert write("create-order-timeout", order_id)["state"] == "Compensated"


def test_record_a_compensation_timeout_an_operator_retries(api, silent_inventory):
    """Record a compensation that times out too, the operator's retry, and the late reply to
    the first release (ignored)."""
    bus = EventBus()
    order_id = placed(api)
    bus.run_until_quiet()
    send(ExpireOverdueSteps(now=waiting_deadline(order_id))).value_or_raise()
    drain(store_for("sagas"))  # the release request is out; its answer is not in yet
    late = waiting_deadline(order_id) + timedelta(seconds=1)
    send(ExpireOverdueSteps(now=late)).value_or_raise()
    saga = SagaRecord.objects.get(key=order_id)
    assert saga.state == "NeedsAttention"
    send(RetryCompensation(saga_id=saga.id)).value_or_raise()
    bus.run_until_quiet()
    recording = write("create-order-compensation-retried", order_id)
    assert recording["state"] == "Compensated"
    assert any(e.get("ignored") for e in recording["history"])


def test_record_an_operator_cancel(api, silent_inventory):
    """Record a saga an operator cancels while it waits for the inventory."""
    bus = EventBus()
    order_id = placed(api)
    bus.run_until_quiet()
    saga = SagaRecord.objects.get(key=order_id)
    send(CancelSaga(saga_id=saga.id, reason="stuck")).value_or_raise()
    bus.run_until_quiet()
    assert write("create-order-cancelled", order_id)["state"] == "Compensated"
