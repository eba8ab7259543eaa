"""Replaying a failed delivery whose subscription or stored envelope is gone: no crash, the
reason on the row, the row left a dead letter (and not retried again by the sweeper)."""

import pytest
from django.contrib.messages import get_messages

from edn_core.bus import retries
from edn_core.bus.dispatch import FAILED, deliver
from edn_core.bus.stores import store_for
from edn_core.bus.subscriptions import subscribe, unsubscribe
from orders.models import FailedDelivery, InboxEntry
from tests.edn_core.test_bus import TOPIC, ping, register_test_topic

pytestmark = pytest.mark.django_db(databases="__all__")
CONSUMER = "orders.doomed"


@pytest.fixture
def staff(admin_client):
    return admin_client


@pytest.fixture
def dead_letter(settings):
    """A dead letter of ``orders.doomed``, whose handler always failed; the subscription is
    still there (tests remove it or spoil the envelope) and is removed afterwards."""
    settings.EDN_BUS = {**settings.EDN_BUS, "max_attempts": 1}
    register_test_topic()
    calls = []

    def doomed(event):
        calls.append(event.id)
        raise RuntimeError("downstream is broken")

    subscribe(TOPIC, app="orders")(doomed)
    try:
        deliver(ping(n=1))
        row = FailedDelivery.objects.get(consumer=CONSUMER, status="dead")
        calls.clear()
        yield row, calls
    finally:
        unsubscribe(CONSUMER)


def replay_in_admin(staff, row) -> str:
    response = staff.post(
        "/admin/orders/faileddelivery/", {"action": "replay", "_selected_action": [row.pk]}
    )
    assert response.status_code == 302
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_replaying_a_dead_letter_whose_handler_was_unsubscribed_says_so(staff, dead_letter):
    """An unsubscribed handler: the admin's replay warns, the row stays dead and names why."""
    row, calls = dead_letter
    unsubscribe(CONSUMER)
    assert "1 failed" in replay_in_admin(staff, row)
    row.refresh_from_db()
    assert row.status == "dead" and row.next_attempt_at is None
    assert row.last_error == f"no subscription named {CONSUMER} is hosted here"
    assert calls == [] and not InboxEntry.objects.filter(consumer=CONSUMER).exists()


@pytest.mark.parametrize(
    "envelope",
    ["", "{not json", '{"id": "x"}', "[]"],
    ids=["missing", "not-json", "not-a-cloudevent", "not-an-object"],
)
def test_replaying_a_dead_letter_whose_envelope_is_missing_or_corrupt_says_so(
    dead_letter, envelope
):
    """A stored envelope that is empty or not a CloudEvent: replay is FAILED, not an
    exception; the row stays dead with the envelope's fault as its error."""
    row, calls = dead_letter
    FailedDelivery.objects.filter(pk=row.pk).update(envelope=envelope)
    row.refresh_from_db()
    assert retries.replay(store_for("orders"), row) == FAILED
    row.refresh_from_db()
    assert row.status == "dead" and row.next_attempt_at is None
    assert row.last_error and "downstream is broken" not in row.last_error
    assert calls == []


def test_a_due_retry_whose_handler_is_gone_becomes_a_dead_letter_once(dead_letter):
    """The retry sweeper meets a retrying row of a removed consumer: it makes it dead (with
    the reason) instead of running nothing, or retrying it forever."""
    row, _ = dead_letter
    due = {"status": "retrying", "next_attempt_at": row.created_at}
    FailedDelivery.objects.filter(pk=row.pk).update(**due)
    unsubscribe(CONSUMER)
    store = store_for("orders")
    assert retries.retry_due(store) == 1
    row.refresh_from_db()
    assert (row.status, row.next_attempt_at) == ("dead", None)
    assert "no subscription named" in row.last_error
    assert retries.retry_due(store) == 0
