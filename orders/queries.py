"""Read side of orders: selectors over the orders alias."""

from uuid import UUID

from django.db.models import QuerySet

from orders.models import OrderRecord


def list_orders(*, customer_id: UUID | None = None, state: str | None = None) -> QuerySet:
    """Return orders, newest first, optionally of one customer and in one state."""
    rows = OrderRecord.objects.prefetch_related("items")
    if customer_id:
        rows = rows.filter(customer_id=customer_id)
    if state:
        rows = rows.filter(state=state)
    return rows


def get_order(order_id: UUID) -> OrderRecord | None:
    return OrderRecord.objects.prefetch_related("items").filter(pk=order_id).first()
