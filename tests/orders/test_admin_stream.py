"""Django admin shows an order's stream: each event with the state right after it."""

import pytest
from django.urls import reverse

from edn_core.cqrs import send
from edn_core.testing import EventBus
from orders import commands
from orders.models import OrderView
from tests.orders.factories import AddressFactory, PlaceOrderFactory, confirm

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def operator(client, django_user_model):
    user = django_user_model.objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(user)
    return client


def test_an_orders_stream_page_lists_its_events_and_the_state_after_each(operator):
    order = PlaceOrderFactory.create()
    confirm(order)
    address = AddressFactory(street="7 Audit Lane")
    send(commands.ChangeShippingAddresses(addresses={order.customer_id: address}))
    EventBus().project()
    row = OrderView.objects.get(order_id=order.id)

    listing = operator.get(reverse("admin:orders_orderview_changelist"))
    stream_url = reverse("admin:orders_orderview_stream", args=[row.pk])
    assert listing.status_code == 200 and stream_url in listing.content.decode()

    page = operator.get(stream_url)
    assert page.status_code == 200
    entries = page.context["entries"]
    assert [(e["stored"].version, e["stored"].type) for e in entries] == [
        (1, "OrderPlaced"),
        (2, "OrderConfirmed"),
        (3, "OrderShippingAddressChanged"),
    ]
    assert '"state": "Pending"' in entries[0]["state"]
    assert '"state": "Created"' in entries[1]["state"]
    assert "7 Audit Lane" in entries[2]["state"] and "7 Audit Lane" not in entries[1]["state"]


def test_the_stream_page_is_for_staff_only(client):
    assert client.get(reverse("admin:orders_orderview_stream", args=[1])).status_code == 302
