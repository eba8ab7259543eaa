"""Read side of orders: one order from its stream (now, or at a version or time), its audit
trail, and the orders list from the ``order_list`` projection -- or, as of a past time, from
the streams of one customer."""

from datetime import datetime
from uuid import UUID

from django.db.models import QuerySet

from edn_core.domain import NotFound
from edn_core.eventsourcing.codec import StoredEvent, to_json
from orders.domain import Order
from orders.models import OrderEvent
from orders.projections import live_orders
from orders.store import orders


def list_orders(*, customer_id: UUID | None = None, state: str | None = None) -> QuerySet:
    """Return orders, newest first, optionally of one customer and in one state."""
    rows = live_orders()
    if customer_id:
        rows = rows.filter(customer_id=customer_id)
    if state:
        rows = rows.filter(state=state)
    return rows


def list_orders_as_of(as_of: datetime, *, customer_id: UUID, state: str | None = None) -> list:
    """The customer's orders as they were at ``as_of``, newest first (replayed from their
    streams: one query for the streams, one for their events)."""
    streams = OrderEvent.streams_of_customers(orders.alias, [customer_id])
    found = orders.store.read_many({str(s): 0 for s in streams}, as_of=as_of)
    placed = [
        (found[stream_id][0].recorded_at, stream_id, order)
        for stream_id, order in orders.rebuild_many(found).items()
        if not state or order.state == state
    ]
    placed.sort(key=lambda entry: entry[1])  # ties by id, like the live list
    placed.sort(key=lambda entry: entry[0], reverse=True)
    return [order for *_, order in placed]


def get_order(order_id: UUID, *, version: int | None = None, as_of=None) -> Order | None:
    """The order now, or at stream ``version`` / time ``as_of``; None when it did not exist."""
    try:
        return orders.get(order_id, version=version, as_of=as_of)
    except NotFound:
        return None


def decode(rows) -> list[dict]:
    """Stored event rows as the audit trail shows them: data in today's shape (upcast; a
    forgotten subject's personal fields redacted)."""
    stored = [StoredEvent.of_row(row) for row in rows]
    events = orders.store.codec.decode_all(stored)
    return [
        {**vars(row), "data": {k: v for k, v in to_json(e).items() if k not in HIDDEN}}
        for row, e in zip(stored, events, strict=True)
    ]


HIDDEN = {"aggregate_id", "occurred_at"}  # the stream and recorded time say these


def order_history(order_id: UUID):
    """The order's stored events, oldest first (a queryset: the API pages it)."""
    return (
        orders.store.events.objects.using(orders.alias)
        .filter(stream_id=str(order_id))
        .order_by("version")
    )
