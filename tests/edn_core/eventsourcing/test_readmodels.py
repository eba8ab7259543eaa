"""Read models written set-based (edn_core/eventsourcing/readmodels.py): one upsert per batch
inserts new rows and updates the named fields of those it collides with, every value as the
ORM would save it (on PostgreSQL through arrays and ``unnest``; elsewhere ``bulk_create``)."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import models
from django.utils import timezone

from edn_core.eventsourcing.readmodels import _reader, upsert_rows
from orders.models import OrderView

pytestmark = pytest.mark.django_db(databases="__all__")

MARK = uuid.UUID(int=0x5EAD)
AT = datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=UTC)
UNIQUE = ["generation", "order_id"]


def view(order_id, **values) -> OrderView:
    fields = {
        "generation": 3,
        "order_id": order_id,
        "version": 1,
        "customer_id": MARK,
        "shipping_address": {"street": "1 Road", "city": "Leeds", "extra": None},
        "items": [{"product_id": str(MARK), "quantity": 2, "name": "Widget \"X\" 'Y' ü"}],
        "order_total": Decimal("12.50"),
        "state": "Pending",
        "rejection_reason": "",
        "placed_at": AT,
        "updated_at": AT,
    }
    return OrderView(**(fields | values))


def stored(order_id) -> dict:
    row = OrderView.objects.using("orders").get(generation=3, order_id=order_id)
    return {
        f.name: getattr(row, f.name) for f in OrderView._meta.concrete_fields if f.name != "row"
    }


def expected(obj: OrderView) -> dict:
    return {
        f.name: getattr(obj, f.name) for f in OrderView._meta.concrete_fields if f.name != "row"
    }


def test_new_rows_are_inserted_and_colliding_ones_updated_in_the_named_fields_only():
    first, second = uuid.uuid4(), uuid.uuid4()
    upsert_rows(
        OrderView, "orders", [view(first), view(second, state="Created")], UNIQUE, ["version"]
    )
    assert stored(first) == expected(view(first))
    later = view(
        first,
        version=2,
        order_total=Decimal("7.25"),
        state="Shipped",  # not in the update: stays
        updated_at=AT.replace(hour=11),
        items=[],
    )
    third = view(uuid.uuid4(), shipping_address={}, rejection_reason="r" * 500)
    upsert_rows(
        OrderView,
        "orders",
        [later, third],
        UNIQUE,
        ["version", "order_total", "items", "updated_at"],
    )
    assert stored(first) == expected(view(first)) | {
        "version": 2,
        "order_total": Decimal("7.25"),
        "items": [],
        "updated_at": AT.replace(hour=11),
    }
    assert stored(second) == expected(view(second, state="Created"))
    assert stored(third.order_id) == expected(third)
    assert OrderView.objects.using("orders").filter(customer_id=MARK).count() == 3


def test_values_the_orm_would_convert_are_converted():
    """A UUID as text, a float or a string for a decimal, a number for text: what
    ``get_db_prep_save`` makes of them, as ``save`` would store them."""
    order_id = uuid.uuid4()
    odd = view(str(order_id), order_total="3.10", version=4, rejection_reason=12)
    upsert_rows(OrderView, "orders", [odd], UNIQUE, ["version"])
    assert stored(order_id) | {"order_id": order_id} == expected(view(order_id)) | {
        "order_total": Decimal("3.10"),
        "version": 4,
        "rejection_reason": "12",
    }


def test_auto_now_fields_are_read_as_pre_save_gives_them():
    field = models.DateTimeField(auto_now=True)
    field.set_attributes_from_name("updated_at")
    obj = view(uuid.uuid4())
    before = timezone.now()
    value = _reader(field)(obj)
    assert value >= before and obj.updated_at == value  # set on the instance, as save does
    plain = OrderView._meta.get_field("updated_at")
    assert _reader(plain)(obj) is obj.updated_at
