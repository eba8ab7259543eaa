"""The Order aggregate: lines, shipping address and a lifecycle of states, from its events."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from edn_core.domain import InvalidState, ValidationFailed
from edn_core.eventsourcing import EventSourcedAggregate, applies
from orders.domain_events import (
    EVENTS,
    OPEN_STATES,
    Address,
    OrderCancelled,
    OrderConfirmed,
    OrderImported,
    OrderItem,
    OrderPlaced,
    OrderRejected,
    OrderShipped,
    OrderShippingAddressChanged,
    OrderState,
)

__all__ = [
    "EVENTS",
    "OPEN_STATES",
    "Address",
    "Order",
    "OrderCancelled",
    "OrderConfirmed",
    "OrderImported",
    "OrderItem",
    "OrderPlaced",
    "OrderRejected",
    "OrderShipped",
    "OrderShippingAddressChanged",
    "OrderState",
]


class Order(EventSourcedAggregate):
    """An order's state comes only from its events (its stream in the orders event store)."""

    kind = "order"
    snapshot_every = 25

    def __init__(self, id: uuid.UUID) -> None:
        super().__init__(id)
        self.customer_id: uuid.UUID | None = None
        self.shipping_address: Address | None = None
        self.items: tuple[OrderItem, ...] = ()
        self.state = OrderState.PENDING
        self.rejection_reason = ""

    @classmethod
    def place(
        cls,
        id: uuid.UUID,
        *,
        customer_id: uuid.UUID,
        shipping_address: Address,
        items: list[OrderItem],
    ) -> Order:
        """Place an order: it stays Pending until the create-order saga confirms or rejects it."""
        if not items:
            raise ValidationFailed({"items": ["An order needs at least one line."]})
        products = [item.product_id for item in items]
        if len(set(products)) != len(products):
            raise ValidationFailed({"items": ["Each product may appear on one line only."]})
        order = cls(id)
        total = sum((item.total for item in items), Decimal("0"))
        order.emit(
            OrderPlaced(
                aggregate_id=id,
                customer_id=customer_id,
                shipping_address=shipping_address,
                items=tuple(items),
                order_total=total,
            )
        )
        return order

    @property
    def order_total(self) -> Decimal:
        return sum((item.total for item in self.items), Decimal("0"))

    def confirm(self) -> None:
        """Credit and stock are reserved: the order is Created."""
        self._require({OrderState.PENDING}, "confirm")
        self.emit(OrderConfirmed(aggregate_id=self.id))

    def reject(self, reason: str) -> None:
        """The create-order saga gave up (and undid its reservations); closed orders stay."""
        if self.state in OPEN_STATES:
            self.emit(OrderRejected(aggregate_id=self.id, reason=reason[:500]))

    def ship(self) -> None:
        self._require({OrderState.CREATED}, "ship")
        self.emit(OrderShipped(aggregate_id=self.id, customer_id=self.customer_id))

    def cancel(self) -> None:
        self._require(OPEN_STATES, "cancel")
        self.emit(OrderCancelled(aggregate_id=self.id, customer_id=self.customer_id))

    def change_shipping_address(self, address: Address) -> None:
        """Ship an open order to ``address``; closed orders keep theirs."""
        if self.state in OPEN_STATES and address != self.shipping_address:
            self.emit(
                OrderShippingAddressChanged(
                    aggregate_id=self.id, customer_id=self.customer_id, shipping_address=address
                )
            )

    def _require(self, states: frozenset | set, action: str) -> None:
        if self.state not in states:
            raise InvalidState(
                f"Cannot {action} order {self.id} in state {self.state}.", state=str(self.state)
            )

    # -- snapshots ---------------------------------------------------------------------------

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "customer_id": str(self.customer_id),
            "shipping_address": asdict(self.shipping_address),
            "items": [
                {
                    **asdict(i),
                    "product_id": str(i.product_id),
                    "product_price": str(i.product_price),
                }
                for i in self.items
            ],
            "state": self.state.value,
            "rejection_reason": self.rejection_reason,
        }

    @classmethod
    def from_snapshot(cls, id: uuid.UUID, state: dict[str, Any]) -> Order:
        order = cls(id)
        order.customer_id = uuid.UUID(state["customer_id"])
        order.shipping_address = Address(**state["shipping_address"])
        order.items = tuple(
            OrderItem(
                uuid.UUID(i["product_id"]),
                i["product_name"],
                Decimal(i["product_price"]),
                i["quantity"],
            )
            for i in state["items"]
        )
        order.state, order.rejection_reason = OrderState(state["state"]), state["rejection_reason"]
        return order

    # -- state from events ---------------------------------------------------------------------

    @applies(OrderPlaced, OrderImported)
    def _placed(self, event: OrderPlaced | OrderImported) -> None:
        self.customer_id, self.shipping_address = event.customer_id, event.shipping_address
        self.items = tuple(event.items)
        if isinstance(event, OrderImported):
            self.state, self.rejection_reason = OrderState(event.state), event.rejection_reason

    @applies(OrderConfirmed)
    def _confirmed(self, event: OrderConfirmed) -> None:
        self.state = OrderState.CREATED

    @applies(OrderRejected)
    def _rejected(self, event: OrderRejected) -> None:
        self.state, self.rejection_reason = OrderState.REJECTED, event.reason

    @applies(OrderShipped)
    def _shipped(self, event: OrderShipped) -> None:
        self.state = OrderState.SHIPPED

    @applies(OrderCancelled)
    def _cancelled(self, event: OrderCancelled) -> None:
        self.state = OrderState.CANCELLED

    @applies(OrderShippingAddressChanged)
    def _moved(self, event: OrderShippingAddressChanged) -> None:
        self.shipping_address = event.shipping_address
