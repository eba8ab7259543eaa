"""The Order aggregate: lines, shipping address and a lifecycle of states."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from decimal import Decimal
from enum import StrEnum

from edn_core.domain import AggregateRoot, DomainEvent, InvalidState, ValidationFailed, ValueObject


class OrderState(StrEnum):
    PENDING = "Pending"
    CREATED = "Created"
    REJECTED = "Rejected"
    SHIPPED = "Shipped"
    CANCELLED = "Cancelled"


OPEN_STATES = frozenset({OrderState.PENDING, OrderState.CREATED})


@dataclass(frozen=True)
class Address(ValueObject):
    street: str
    city: str
    state: str
    country: str
    postal_code: str

    def __post_init__(self) -> None:
        blank = [f.name for f in fields(self) if not str(getattr(self, f.name)).strip()]
        if blank:
            raise ValidationFailed({f"shipping_address.{n}": ["May not be blank."] for n in blank})


@dataclass(frozen=True)
class OrderItem(ValueObject):
    product_id: uuid.UUID
    product_name: str
    product_price: Decimal
    quantity: int

    def __post_init__(self) -> None:
        if self.quantity < 1 or self.product_price < 0 or not self.product_name.strip():
            raise ValidationFailed({"items": [f"Invalid line for product {self.product_id}."]})

    @property
    def total(self) -> Decimal:
        return self.product_price * self.quantity


@dataclass(frozen=True, kw_only=True)
class OrderPlaced(DomainEvent):
    customer_id: uuid.UUID
    items: tuple[OrderItem, ...]
    order_total: Decimal


@dataclass(frozen=True, kw_only=True)
class OrderShipped(DomainEvent):
    customer_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class OrderCancelled(DomainEvent):
    customer_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class OrderConfirmed(DomainEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class OrderRejected(DomainEvent):
    reason: str


@dataclass(frozen=True, kw_only=True)
class OrderShippingAddressChanged(DomainEvent):
    shipping_address: Address


class Order(AggregateRoot):
    kind = "order"

    def __init__(
        self,
        id: uuid.UUID,
        *,
        customer_id: uuid.UUID,
        shipping_address: Address,
        items: tuple[OrderItem, ...],
        state: OrderState = OrderState.PENDING,
        rejection_reason: str = "",
        version: int = 0,
    ) -> None:
        super().__init__(id, version)
        self.customer_id = customer_id
        self.shipping_address = shipping_address
        self.items = tuple(items)
        self.state = OrderState(state)
        self.rejection_reason = rejection_reason

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
        order = cls(
            id,
            customer_id=customer_id,
            shipping_address=shipping_address,
            items=tuple(items),
            state=OrderState.PENDING,
        )
        order.record(
            OrderPlaced(
                aggregate_id=id,
                customer_id=customer_id,
                items=order.items,
                order_total=order.order_total,
            )
        )
        return order

    @property
    def order_total(self) -> Decimal:
        return sum((item.total for item in self.items), Decimal("0"))

    def confirm(self) -> None:
        """Credit and stock are reserved: the order is Created."""
        self._require({OrderState.PENDING}, "confirm")
        self.state = OrderState.CREATED
        self.record(OrderConfirmed(aggregate_id=self.id))

    def reject(self, reason: str) -> None:
        """The create-order saga gave up (and undid its reservations); closed orders stay."""
        if self.state in OPEN_STATES:
            self.state, self.rejection_reason = OrderState.REJECTED, reason[:500]
            self.record(OrderRejected(aggregate_id=self.id, reason=self.rejection_reason))

    def ship(self) -> None:
        self._require({OrderState.CREATED}, "ship")
        self.state = OrderState.SHIPPED
        self.record(OrderShipped(aggregate_id=self.id, customer_id=self.customer_id))

    def cancel(self) -> None:
        self._require(OPEN_STATES, "cancel")
        self.state = OrderState.CANCELLED
        self.record(OrderCancelled(aggregate_id=self.id, customer_id=self.customer_id))

    def change_shipping_address(self, address: Address) -> None:
        """Ship an open order to ``address``; closed orders keep theirs."""
        if self.state in OPEN_STATES and address != self.shipping_address:
            self.shipping_address = address
            self.record(OrderShippingAddressChanged(aggregate_id=self.id, shipping_address=address))

    def _require(self, states: frozenset | set, action: str) -> None:
        if self.state not in states:
            raise InvalidState(
                f"Cannot {action} order {self.id} in state {self.state}.", state=str(self.state)
            )
