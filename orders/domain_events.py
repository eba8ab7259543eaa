"""The Order aggregate's value objects and domain events (its stream's vocabulary)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from decimal import Decimal
from enum import StrEnum

from edn_core.domain import DomainEvent, ValidationFailed, ValueObject
from edn_core.eventsourcing.personal import REDACTED, personal_data


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


# What a forgotten customer's address reads as (the shipping address is personal data).
REDACTED_ADDRESS = Address(REDACTED, REDACTED, REDACTED, REDACTED, REDACTED)


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


@personal_data(subject="customer_id", shipping_address=REDACTED_ADDRESS)
@dataclass(frozen=True, kw_only=True)
class OrderPlaced(DomainEvent):
    customer_id: uuid.UUID
    shipping_address: Address
    items: tuple[OrderItem, ...]
    order_total: Decimal


@personal_data(subject="customer_id", shipping_address=REDACTED_ADDRESS)
@dataclass(frozen=True, kw_only=True)
class OrderImported(DomainEvent):
    """An order brought from the row tables of before event sourcing, as it stood then."""

    customer_id: uuid.UUID
    shipping_address: Address
    items: tuple[OrderItem, ...]
    state: OrderState
    rejection_reason: str = ""


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


@personal_data(subject="customer_id", shipping_address=REDACTED_ADDRESS)
@dataclass(frozen=True, kw_only=True)
class OrderShippingAddressChanged(DomainEvent):
    customer_id: uuid.UUID
    shipping_address: Address


EVENTS = (
    OrderPlaced,
    OrderImported,
    OrderConfirmed,
    OrderRejected,
    OrderShipped,
    OrderCancelled,
    OrderShippingAddressChanged,
)
