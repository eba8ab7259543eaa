"""Stream entries of order events, as the stream feed appends them, and read-model rows."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory

from analytics.read_models import CustomerSession, OrderMinute, ProductMinute
from edn_core.streams.port import Entry, partition_of

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def placed(offset, *, at, items, customer=None, order=None, partition=0, stream="orders"):
    """A v1.OrderPlaced entry: ``items`` are ``(product, quantity, price)`` lines."""
    order = order or str(uuid.uuid4())
    lines = [
        {"productId": p, "productName": "Tea", "productPrice": price, "quantity": q}
        for p, q, price in items
    ]
    total = sum((Decimal(price) * q for _p, q, price in items), Decimal("0.00"))
    value = {
        "id": f"event-{offset}",
        "type": "v1.OrderPlaced",
        "time": at.isoformat().replace("+00:00", "Z"),
        "data": {
            "orderId": order,
            "customerId": customer or str(uuid.uuid4()),
            "orderTotal": str(total),
            "items": lines,
        },
    }
    return Entry(stream, partition, offset, order, value, {}, at)


def other(offset, *, at, topic="v1.OrderShipped", partition=0):
    """Another order event (the processors skip it)."""
    order = str(uuid.uuid4())
    value = {"id": f"event-{offset}", "type": topic, "time": at.isoformat(), "data": {}}
    return Entry("orders", partition, offset, order, value, {}, at)


class Log:
    """A stand-in for a stream with ``partitions`` partitions: appends ``NewEntry``s and
    gives them back as a reader would (partition by key, offsets 1, 2, ...)."""

    def __init__(self, partitions, stream="analytics.customer-orders"):
        self.partitions, self.stream, self.offsets = partitions, stream, {}

    def append(self, new_entries):
        entries = []
        for new in new_entries:
            partition = partition_of(new.key, self.partitions)
            offset = self.offsets[partition] = self.offsets.get(partition, 0) + 1
            at = datetime.fromisoformat(new.value["time"])
            entries.append(Entry(self.stream, partition, offset, new.key, dict(new.value), {}, at))
        return entries


class FiguresFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True
        database = "analytics"

    partition = 0
    window_start = factory.Sequence(lambda n: START + n * MINUTE)
    window_end = factory.LazyAttribute(lambda row: row.window_start + MINUTE)
    orders = 1
    units = 2
    revenue = Decimal("10.00")
    final = True


class OrderMinuteFactory(FiguresFactory):
    class Meta:
        model = OrderMinute


class ProductMinuteFactory(FiguresFactory):
    class Meta:
        model = ProductMinute

    product_id = factory.LazyFunction(uuid.uuid4)


class CustomerSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerSession
        database = "analytics"

    partition = 0
    customer_id = factory.LazyFunction(uuid.uuid4)
    session_start = START
    session_end = factory.LazyAttribute(lambda row: row.session_start + 10 * MINUTE)
    orders = 2
