"""Write side of orders: commands and their handlers."""

from dataclasses import dataclass
from uuid import UUID

from edn_core.cqrs import Answer, Command, handles
from edn_core.domain import DomainError, new_id
from orders.domain import Address, Order, OrderItem
from orders.models import OrderEvent
from orders.store import orders


@dataclass(frozen=True, kw_only=True)
class PlaceOrder(Command):
    customer_id: UUID
    shipping_address: dict
    items: list[dict]
    order_id: UUID | None = None


@dataclass(frozen=True, kw_only=True)
class ShipOrder(Command):
    order_id: UUID
    expected_version: int | None


@dataclass(frozen=True, kw_only=True)
class CancelOrder(Command):
    order_id: UUID
    expected_version: int | None


@handles(PlaceOrder)
def place_order(cmd: PlaceOrder) -> Order:
    order = Order.place(
        cmd.order_id or new_id(),
        customer_id=cmd.customer_id,
        shipping_address=Address(**cmd.shipping_address),
        items=[OrderItem(**item) for item in cmd.items],
    )
    with orders.atomic():
        orders.add(order)
    return order


@handles(ShipOrder)
def ship_order(cmd: ShipOrder) -> Order:
    return orders.change(cmd.order_id, Order.ship, cmd.expected_version)


@handles(CancelOrder)
def cancel_order(cmd: CancelOrder) -> Order:
    return orders.change(cmd.order_id, Order.cancel, cmd.expected_version)


@dataclass(frozen=True, kw_only=True)
class SettleOrders(Command):
    """The create-order saga's verdicts for a batch of orders: ``(order id, None)`` confirms,
    ``(order id, reason)`` rejects. One load, one save."""

    verdicts: list[tuple[UUID, str | None]]


@handles(SettleOrders)
def settle_orders(cmd: SettleOrders) -> list[Answer]:
    """Answer each verdict, in order: done with the order's ``state`` in ``detail``, or why not."""
    answers = []
    with orders.atomic(savepoint=False):
        loaded = orders.get_many({order_id for order_id, _ in cmd.verdicts})
        for order_id, reason in cmd.verdicts:
            order = loaded.get(order_id)
            if order is None:
                answers.append(Answer(False, f"order {order_id} does not exist."))
                continue
            try:
                order.confirm() if reason is None else order.reject(reason)
            except DomainError as refusal:  # raised before anything changed
                answers.append(Answer(False, refusal.message))
                continue
            answers.append(Answer(True, detail={"state": order.state.value}))
        orders.save_all([order for order in loaded.values() if order.pending_events])
    return answers


@dataclass(frozen=True, kw_only=True)
class ChangeShippingAddresses(Command):
    """New addresses of customers (``{customer id: address}``): their open orders follow."""

    addresses: dict[UUID, dict]


@handles(ChangeShippingAddresses)
def change_shipping_addresses(cmd: ChangeShippingAddresses) -> int:
    """Set-based: load every order of these customers (found by the index on their first
    event), let each order decide, append to the changed ones in one statement; return how
    many changed."""
    new = {customer: Address(**address) for customer, address in cmd.addresses.items()}
    with orders.atomic(savepoint=False):
        loaded = orders.get_many(OrderEvent.streams_of_customers(orders.alias, new))
        for order in loaded.values():
            order.change_shipping_address(new[order.customer_id])
        changed = [order for order in loaded.values() if order.pending_events]
        orders.save_all(changed)
    return len(changed)
