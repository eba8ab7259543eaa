"""Bring every order of an existing database into its own stream (issue #14), then
drop the row tables it came from; the orders list is rebuilt by its projection.

An order stored before event sourcing becomes one ``OrderImported`` event holding its whole
state, stored at the order's version: its ETag does not change, and the next change appends
at version + 1. The history before the import was never recorded, so it is not invented: the
event's metadata says it was imported. Going back writes each order's current state (its
stream replayed) into the row tables again; the streams stay, and going forward once more
imports only orders that have no stream.
"""

import uuid

from django.db import migrations, models
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

ADDRESS = ("street", "city", "state", "country", "postal_code")
IMPORTED = {"imported_from": "orders_order", "correlation_id": None, "causation_id": None,
            "traceparent": None, "subject": None}  # fmt: skip


def import_orders(apps, schema_editor):
    alias = schema_editor.connection.alias
    Order = apps.get_model("orders", "OrderRecord")
    Item = apps.get_model("orders", "OrderItemRecord")
    Event = apps.get_model("orders", "OrderEvent")
    done = set(Event.objects.using(alias).values_list("stream_id", flat=True).distinct())
    orders = Order.objects.using(alias).order_by("created_at", "id")
    lines: dict = {}
    for item in Item.objects.using(alias).order_by("order_id", "position"):
        lines.setdefault(item.order_id, []).append(item)
    batch, count = [], 0
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
            count += _write(Event, alias, batch)
            batch = []
    count += _write(Event, alias, batch)
    if count:
        print(f"\n  imported {count} orders into their streams", flush=True)


def _write(Event, alias: str, batch: list) -> int:
    from orders.store import codec  # the shipping address is personal data: sealed (0071)

    sealed = codec.seal_all([(event.type, event.data) for event in batch])
    for event, data in zip(batch, sealed, strict=True):
        event.data = data
    Event.objects.using(alias).bulk_create(batch)
    if len(batch) == 2000:  # progress for a large table
        print(".", end="", flush=True)
    return len(batch)


def orders_back_into_rows(apps, schema_editor):
    from orders.store import orders as repository  # the stream replayed by today's code

    alias = schema_editor.connection.alias
    Order = apps.get_model("orders", "OrderRecord")
    Item = apps.get_model("orders", "OrderItemRecord")
    Event = apps.get_model("orders", "OrderEvent")
    first = Event.objects.using(alias).filter(type__in=["OrderImported", "OrderPlaced"])
    for start in range(0, first.count(), 500):
        placed = dict(
            first.order_by("id")[start : start + 500].values_list("stream_id", "recorded_at")
        )
        for order in repository.get_many(uuid.UUID(s) for s in placed).values():
            address = {f"ship_{p}": getattr(order.shipping_address, p) for p in ADDRESS}
            row = Order.objects.using(alias).create(
                id=order.id,
                version=order.version,
                customer_id=order.customer_id,
                state=order.state.value,
                rejection_reason=order.rejection_reason,
                created_at=placed[str(order.id)],
                updated_at=timezone.now(),
                **address,
            )
            Item.objects.using(alias).bulk_create(
                Item(order=row, position=n, **vars(i)) for n, i in enumerate(order.items)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_order_view"),
    ]

    operations = [
        migrations.RunPython(import_orders, orders_back_into_rows, elidable=False),
        migrations.RemoveIndex(
            model_name="orderevent",
            name="orders_event_placed_customer",
        ),
        migrations.AddIndex(
            model_name="orderevent",
            index=models.Index(
                Cast(KeyTextTransform("customer_id", "data"), models.TextField()),
                condition=models.Q(("type__in", ["OrderImported", "OrderPlaced"])),
                name="orders_event_first_customer",
            ),
        ),
        migrations.DeleteModel(
            name="OrderItemRecord",
        ),
        migrations.DeleteModel(
            name="OrderRecord",
        ),
    ]
