"""The outbox admin's "Publish again" end to end: the chosen row goes back to the relay, which
publishes it again, and the consumer's inbox drops the duplicate (the permission checks are in
tests/edn_core/test_bus_admin_permissions.py)."""

import pytest

from customers.models import OutboxMessage
from edn_core.bus.relay import relay_batch
from edn_core.bus.stores import store_for
from edn_core.bus.transports import Transport
from edn_core.testing import EventBus
from orders.models import InboxEntry
from orders.queries import get_order
from tests.customers.factories import CreateCustomerFactory
from tests.edn_core.test_bus import _place_order, change_address
from tests.support.staff import action, staff_client

pytestmark = pytest.mark.django_db(databases="__all__")
OUTBOX = "/admin/customers/outboxmessage/"
ADDRESS_UPDATED = "v1.CustomerAddressUpdated"


class Recording(Transport):
    """Confirms every message, keeping what it was given."""

    name = "recording"

    def __init__(self) -> None:
        self.published: list = []

    def publish(self, messages) -> int:
        self.published += messages
        return len(messages)


def test_publish_again_makes_the_relay_publish_the_chosen_row_once_more():
    """Proves the action re-queues exactly the chosen sent row (not the other one), the relay
    then publishes it again, and delivering it again has no second effect."""
    customer = CreateCustomerFactory.create()
    order = _place_order(customer.id, customer.shipping_address)
    changed = change_address(
        customer, street="1 St", city="C", state="S", country="X", postal_code="1"
    )
    change_address(changed, street="2 St", city="C", state="S", country="X", postal_code="2")
    bus = EventBus()
    bus.run_until_quiet()
    first, second = OutboxMessage.objects.filter(topic=ADDRESS_UPDATED).order_by("id")
    assert first.sent_at and second.sent_at
    version = get_order(order.id).version

    staff = staff_client("customers.change_outboxmessage")
    action(staff, OUTBOX, "publish_again", first.pk)

    assert OutboxMessage.objects.get(pk=first.pk).sent_at is None
    others = OutboxMessage.objects.exclude(pk=first.pk)
    assert not others.filter(sent_at__isnull=True).exists()  # the others stay sent
    transport = Recording()
    assert relay_batch(store_for("customers"), transport) == 1
    assert [m.event_id for m in transport.published] == [first.event_id]
    assert OutboxMessage.objects.get(pk=first.pk).sent_at > first.sent_at

    action(staff, OUTBOX, "publish_again", first.pk)  # once more, now delivered
    bus.run_until_quiet()
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 0
    entries = InboxEntry.objects.filter(event_id=str(first.event_id))
    assert entries.count() == len({e.consumer for e in entries})  # each consumer once
    assert get_order(order.id).version == version  # the duplicate had no effect
