"""Bring every order of an existing database into its own stream (issue #14).

An order stored before event sourcing becomes one ``OrderImported`` event holding its whole
state, stored at the order's version: its ETag does not change, and the next change appends
at version + 1. The history before the import was never recorded, so it is not invented: the
event's metadata says it was imported. Reversible: going back deletes the imported events.
"""

from django.db import migrations
from django.utils import timezone

ADDRESS = ("street", "city", "state", "country", "postal_code")
IMPORTED = {"imported_from": "orders_order", "correlation_id": None, "causation_id": None,
            "traceparent": None, "subject": None}  # fmt: skip


def import_orders(apps, schema_editor):
    alias = schema_editor.connection.alias
    Order = apps.get_model("orders", "OrderRecord")
    Item = apps.get_model("orders", "OrderItemRecord")
    Event = apps.get_model("orders", "OrderEvent")
    done = set(
        Event.objects.using(alias).filter(type="OrderImported").values_list("stream_id", flat=True)
    )
    orders = Order.objects.using(alias).order_by("created_at", "id")
    lines: dict = {}
    for item in Item.objects.using(alias).order_by("order_id", "position"):
        lines.setdefault(item.order_id, []).append(item)
    batch = []
    for order in orders.iterator(chunk_size=2000):
        if str(order.id) in done:
            continue
        items = lines.get(order.id, [])
        data = {
            "aggregate_id": str(order.id),
            "occurred_at": order.created_at.isoformat(),
            "customer_id": str(order.customer_id),
            "shipping_address": {p: getattr(order, f"ship_{p}") for p in ADDRESS},
            "items": [
                {
                    "product_id": str(i.product_id),
                    "product_name": i.product_name,
                    "product_price": str(i.product_price),
                    "quantity": i.quantity,
                }  # fmt: skip
                for i in items
            ],
            "state": order.state,
            "rejection_reason": order.rejection_reason,
        }
        batch.append(
            Event(
                stream_id=str(order.id),
                stream_type="order",
                version=order.version,
                type="OrderImported",
                schema_version=1,
                data=data,
                metadata=IMPORTED,
                recorded_at=order.updated_at or timezone.now(),
            )
        )
        if len(batch) >= 2000:
            Event.objects.using(alias).bulk_create(batch)
            batch = []
    Event.objects.using(alias).bulk_create(batch)


def forget_imports(apps, schema_editor):
    Event = apps.get_model("orders", "OrderEvent")
    Event.objects.using(schema_editor.connection.alias).filter(type="OrderImported").delete()


class Migration(migrations.Migration):
    dependencies = [("orders", "0003_event_store")]

    operations = [migrations.RunPython(import_orders, forget_imports, elidable=False)]
