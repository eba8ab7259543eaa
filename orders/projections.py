"""The orders list: ``OrderView`` rows written from the orders' streams by the ``order_list``
projection (registered in ``OrdersConfig.ready``); read it through :func:`live_orders`."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from django.db.models import QuerySet

from edn_core.eventsourcing.projections import Projection
from edn_core.eventsourcing.readmodels import upsert_rows
from orders.domain import (
    OrderCancelled,
    OrderConfirmed,
    OrderImported,
    OrderPlaced,
    OrderRejected,
    OrderShipped,
    OrderShippingAddressChanged,
    OrderState,
)
from orders.models import OrderView
from orders.store import store

UNIQUE = ["generation", "order_id"]
VALUES = [f.name for f in OrderView._meta.concrete_fields if f.name not in ("row", *UNIQUE)]
CLOSING = {
    OrderConfirmed: OrderState.CREATED,
    OrderShipped: OrderState.SHIPPED,
    OrderCancelled: OrderState.CANCELLED,
}


def _address(address) -> dict:
    return dataclasses.asdict(address) if dataclasses.is_dataclass(address) else address


def _items(items) -> list[dict]:
    return [
        {
            "product_id": str(i.product_id),
            "product_name": i.product_name,
            "product_price": str(i.product_price),
            "quantity": i.quantity,
        }
        for i in items
    ]


class OrderList(Projection):
    """One ``OrderView`` row per order and generation, at the order's latest version."""

    name = "order_list"
    store = store
    read_model = OrderView
    stream_field = "order_id"
    batch_size = 2000

    def handle(self, batch, generation: int) -> None:
        ids = {stored.stream_id for stored, _ in batch}
        found = self.rows(generation).filter(order_id__in=ids)
        rows = {str(row.order_id): row for row in found}
        for stored, event in batch:
            row = rows.get(stored.stream_id)
            if row is None:
                row = rows[stored.stream_id] = OrderView(
                    generation=generation, order_id=stored.stream_id, placed_at=stored.recorded_at
                )
            self.apply(row, event)
            row.version, row.updated_at = stored.version, stored.recorded_at
        for row in rows.values():
            row.pk = None  # one upsert for new and known rows alike
        upsert_rows(OrderView, self.store.alias, list(rows.values()), UNIQUE, VALUES)

    @staticmethod
    def apply(row: OrderView, event) -> None:
        if isinstance(event, OrderPlaced | OrderImported):
            row.customer_id = event.customer_id
            row.shipping_address = _address(event.shipping_address)
            row.items = _items(event.items)
            row.rejection_reason = ""
        if isinstance(event, OrderPlaced):
            row.order_total, row.state = event.order_total, OrderState.PENDING.value
        elif isinstance(event, OrderImported):
            total = sum((i.product_price * i.quantity for i in event.items), Decimal("0"))
            row.order_total, row.state = total, str(event.state)
            row.rejection_reason = event.rejection_reason
            row.placed_at = event.occurred_at  # when the row tables had it created
        elif isinstance(event, OrderRejected):
            row.state, row.rejection_reason = OrderState.REJECTED.value, event.reason
        elif isinstance(event, OrderShippingAddressChanged):
            row.shipping_address = _address(event.shipping_address)
        elif type(event) in CLOSING:
            row.state = CLOSING[type(event)].value
        if row.customer_id is None:  # an order's first event places or imports it
            raise LookupError(f"{type(event).__name__} of order {row.order_id} before it exists")


order_list = OrderList()


def live_orders() -> QuerySet:
    """The orders list rows of the live generation (newest first)."""
    return order_list.live(OrderView.objects.using(store.alias))
