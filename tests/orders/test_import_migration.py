"""An existing database upgrades without losing an order: migration 0005 brings each order of
the row tables into its own stream, at its version, and the API serves it unchanged."""

import uuid
from decimal import Decimal

import pytest
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from edn_core.routers import alias_for
from edn_core.testing import EventBus
from orders.models import OrderEvent, OrderView
from tests.orders.factories import order_payload, stored_order

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

BEFORE, AFTER = ("orders", "0004_order_view"), ("orders", "0005_orders_from_streams")


def migrate(target):
    connection = connections[alias_for("orders")]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


def old_order(apps, *, state, version, lines):
    Order = apps.get_model("orders", "OrderRecord")
    Item = apps.get_model("orders", "OrderItemRecord")
    alias = alias_for("orders")
    order = Order.objects.using(alias).create(
        id=uuid.uuid4(),
        version=version,
        customer_id=uuid.uuid4(),
        ship_street="1 Old Rd",
        ship_city="Bath",
        ship_state="Somerset",
        ship_country="UK",
        ship_postal_code="BA1 1AA",
        state=state,
        rejection_reason="no stock" if state == "Rejected" else "",
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )
    for n in range(lines):
        Item.objects.using(alias).create(
            order=order,
            position=n,
            product_id=uuid.uuid4(),
            product_name=f"thing {n}",
            product_price=Decimal("2.50"),
            quantity=n + 1,
        )
    return order


def test_orders_of_the_row_tables_become_streams_at_their_version(api):
    try:
        apps = migrate(BEFORE)
        created = old_order(apps, state="Created", version=2, lines=2)
        rejected = old_order(apps, state="Rejected", version=3, lines=1)
    finally:
        migrate(AFTER)  # the newest state again, for the tests after this one

    (imported,) = OrderEvent.objects.filter(stream_id=str(created.id))
    assert "1 Old Rd" not in str(imported.data)  # sealed like every personal field (0071)
    order = stored_order(created.id)
    assert (order.version, order.state, order.customer_id) == (2, "Created", created.customer_id)
    assert [(i.product_name, i.quantity) for i in order.items] == [("thing 0", 1), ("thing 1", 2)]
    assert order.shipping_address.street == "1 Old Rd"
    assert stored_order(rejected.id).rejection_reason == "no stock"

    EventBus().project()  # the orders list fills from the imported events
    listed = OrderView.objects.get(order_id=created.id)
    assert (listed.state, listed.version, listed.placed_at) == ("Created", 2, created.created_at)

    response = api.get(f"/api/orders/{created.id}")
    assert response.status_code == 200 and response["ETag"] == '"2"'  # the ETag is unchanged
    assert response.json()["orderTotal"] == "7.50"  # 2.50 x 1 + 2.50 x 2
    # the next change appends at version + 1 with the ETag the client already holds
    shipped = api.post(f"/api/orders/{created.id}/ship", HTTP_IF_MATCH='"2"')
    assert shipped.status_code == 200, shipped.content
    assert shipped["ETag"] == '"3"' and shipped.json()["state"] == "Shipped"
    trail = api.get(f"/api/orders/{created.id}/events").json()["results"]
    assert [(e["version"], e["type"]) for e in trail] == [(2, "OrderImported"), (3, "OrderShipped")]


def test_going_back_writes_each_orders_current_state_into_rows(api):
    placed = api.post("/api/orders", order_payload(), format="json").json()
    assert api.post(f"/api/orders/{placed['id']}/cancel", HTTP_IF_MATCH='"1"').status_code == 200
    try:
        apps = migrate(BEFORE)
        row = apps.get_model("orders", "OrderRecord").objects.using(alias_for("orders")).get()
        assert (str(row.id), row.version, row.state) == (placed["id"], 2, "Cancelled")
        assert row.ship_city == placed["shippingAddress"]["city"]
        assert [i.quantity for i in row.items.all()] == [placed["items"][0]["quantity"]]
    finally:
        migrate(AFTER)  # the stream exists: nothing is imported twice
    trail = api.get(f"/api/orders/{placed['id']}/events").json()["results"]
    assert [e["type"] for e in trail] == ["OrderPlaced", "OrderCancelled"]
