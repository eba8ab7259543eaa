"""The bus tables' admin actions need the table's change permission: "Publish again" the
outbox's, "Replay now" the failed deliveries'. Without it they are not offered, and a POST of
them changes nothing."""

import uuid

import pytest
from django.utils import timezone

from edn_core.bus.dispatch import deliver
from edn_core.bus.subscriptions import subscribe, unsubscribe
from orders.models import FailedDelivery, OutboxMessage
from tests.edn_core.test_bus import TOPIC, ping, register_test_topic
from tests.support.staff import action, offers, staff_client

pytestmark = pytest.mark.django_db(databases="__all__")
OUTBOX = "/admin/orders/outboxmessage/"
FAILURES = "/admin/orders/faileddelivery/"


@pytest.fixture
def sent() -> OutboxMessage:
    return OutboxMessage.objects.create(
        event_id=uuid.uuid4(),
        topic=TOPIC,
        aggregate_id="agg",
        sequence=1,
        partition=0,
        envelope="{}",
        sent_at=timezone.now(),
    )


@pytest.fixture
def dead(settings) -> FailedDelivery:
    """A dead letter of a handler that works again now."""
    register_test_topic()
    state = {"broken": True}

    def mended_handler(event):
        if state["broken"]:
            raise RuntimeError("downstream is broken")

    subscribe(TOPIC, app="orders")(mended_handler)
    settings.EDN_BUS = {**settings.EDN_BUS, "max_attempts": 1}
    deliver(ping(n=1))
    state["broken"] = False
    yield FailedDelivery.objects.get(status="dead")
    unsubscribe("orders.mended_handler")


@pytest.mark.parametrize("permissions", [(), ("orders.view_outboxmessage",)], ids=str)
def test_publishing_again_without_change_outboxmessage_is_refused(sent, permissions):
    client = staff_client(*permissions)
    assert not offers(client, OUTBOX, "publish_again")
    action(client, OUTBOX, "publish_again", sent.pk)
    assert OutboxMessage.objects.get(pk=sent.pk).sent_at == sent.sent_at


def test_publishing_again_with_change_outboxmessage_queues_the_row(sent):
    client = staff_client("orders.change_outboxmessage")
    assert offers(client, OUTBOX, "publish_again")
    action(client, OUTBOX, "publish_again", sent.pk)
    assert OutboxMessage.objects.get(pk=sent.pk).sent_at is None


@pytest.mark.parametrize(
    "permissions",
    [
        (),
        ("orders.view_faileddelivery",),
        ("orders.view_faileddelivery", "orders.delete_faileddelivery"),
    ],
    ids=str,
)
def test_replaying_without_change_faileddelivery_is_refused(dead, permissions):
    client = staff_client(*permissions)
    assert not offers(client, FAILURES, "replay")
    action(client, FAILURES, "replay", dead.pk)
    assert FailedDelivery.objects.get(pk=dead.pk).status == "dead"


def test_replaying_with_change_faileddelivery_resolves_the_dead_letter(dead):
    client = staff_client("orders.change_faileddelivery")
    assert offers(client, FAILURES, "replay")
    action(client, FAILURES, "replay", dead.pk)
    assert FailedDelivery.objects.get(pk=dead.pk).status == "resolved"
