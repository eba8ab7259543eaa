"""The bus tables in Django admin: visible, and dead letters replayable."""

import pytest
from django.contrib.auth import get_user_model

from edn_core.bus.dispatch import deliver
from edn_core.bus.subscriptions import subscribe, unsubscribe
from orders.models import FailedDelivery, InboxEntry
from tests.edn_core.test_bus import TOPIC, ping, register_test_topic

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def staff(client):
    get_user_model().objects.create_superuser("ops", "ops@example.com", "pw")
    client.login(username="ops", password="pw")
    return client


@pytest.fixture
def flaky():
    register_test_topic()
    state = {"broken": True, "calls": 0}

    def flaky_handler(event):
        if state["broken"]:
            raise RuntimeError("downstream is broken")
        state["calls"] += 1

    subscribe(TOPIC, app="orders")(flaky_handler)
    yield state
    unsubscribe("orders.flaky_handler")


def test_dead_letter_is_listed_with_its_error_and_replayed_once_after_the_fix(
    staff, flaky, settings
):
    settings.EDN_BUS = {**settings.EDN_BUS, "max_attempts": 1}
    deliver(ping(n=1))
    dead = FailedDelivery.objects.get(status="dead")
    listing = staff.get("/admin/orders/faileddelivery/", {"status__exact": "dead"})
    assert listing.status_code == 200
    assert b"downstream is broken" in listing.content
    detail = staff.get(f"/admin/orders/faileddelivery/{dead.pk}/change/")
    assert detail.status_code == 200 and dead.event_id.encode() in detail.content

    flaky["broken"] = False
    for _ in range(2):  # a second replay must not apply the event again
        response = staff.post(
            "/admin/orders/faileddelivery/", {"action": "replay", "_selected_action": [dead.pk]}
        )
        assert response.status_code == 302
    dead.refresh_from_db()
    assert dead.status == "resolved" and flaky["calls"] == 1
    assert InboxEntry.objects.filter(consumer="orders.flaky_handler").count() == 1


@pytest.mark.parametrize("model", ["outboxmessage", "inboxentry", "faileddelivery"])
@pytest.mark.parametrize("app", ["customers", "orders"])
def test_bus_tables_have_admin_pages(staff, app, model):
    assert staff.get(f"/admin/{app}/{model}/").status_code == 200
