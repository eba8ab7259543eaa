"""The saga admin's actions (cancel, retry a failed compensation) need
``sagas.change_sagarecord``: without it they are not offered and a POST of them leaves the
saga as it was."""

import uuid

import pytest

from edn_core.cqrs import send
from sagas import commands
from sagas.models import SagaRecord
from tests.support.staff import action, offers, staff_client

pytestmark = pytest.mark.django_db(databases="__all__")
CHANGELIST = "/admin/sagas/sagarecord/"
CHANGE = "sagas.change_sagarecord"
REFUSED = [(), ("sagas.view_sagarecord",)]


@pytest.fixture
def waiting() -> SagaRecord:
    """A create-order saga waiting for the customer's credit reservation."""
    order = {
        "orderId": str(uuid.uuid4()),
        "customerId": str(uuid.uuid4()),
        "orderTotal": "7.50",
        "items": [
            {"productId": str(uuid.uuid4()), "productName": "Widget", "productPrice": "7.50",
             "quantity": 1}
        ],
    }  # fmt: skip
    (saga,) = send(commands.StartSagas(saga_type="CreateOrder", datas=[order])).value_or_raise()
    return SagaRecord.objects.get(pk=saga.id)


def cancelled(saga: SagaRecord) -> SagaRecord:
    send(commands.CancelSaga(saga_id=saga.pk, reason="test")).value_or_raise()
    return SagaRecord.objects.get(pk=saga.pk)


def state(saga: SagaRecord) -> tuple[str, int]:
    row = SagaRecord.objects.get(pk=saga.pk)
    return row.state, row.version


@pytest.mark.parametrize("permissions", REFUSED, ids=str)
@pytest.mark.parametrize(("name", "cancels"), [("cancel_saga", 0), ("retry_compensation", 2)])
def test_saga_actions_without_change_sagarecord_are_refused(waiting, permissions, name, cancels):
    saga = waiting
    for _ in range(cancels):  # to where the action would apply: a failed compensation
        saga = cancelled(saga)
    client, before = staff_client(*permissions), state(saga)
    assert not offers(client, CHANGELIST, name)
    action(client, CHANGELIST, name, saga.pk)
    assert state(saga) == before


def test_with_change_sagarecord_cancel_and_retry_run(waiting):
    client = staff_client(CHANGE)
    assert offers(client, CHANGELIST, "cancel_saga")
    assert offers(client, CHANGELIST, "retry_compensation")
    action(client, CHANGELIST, "cancel_saga", waiting.pk)
    assert state(waiting)[0] == "Compensating"
    action(client, CHANGELIST, "cancel_saga", waiting.pk)  # its compensation is stuck too
    assert state(waiting)[0] == "NeedsAttention"
    action(client, CHANGELIST, "retry_compensation", waiting.pk)
    assert state(waiting)[0] == "Compensating"
