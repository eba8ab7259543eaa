"""The Customer aggregate: identity, shipping address, credit limit and reserved credit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from decimal import Decimal

from edn_core.domain import (
    AggregateRoot,
    DomainEvent,
    InvalidState,
    ValidationFailed,
    ValueObject,
)

NAME_MAX = 100


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
            raise ValidationFailed(
                {f"shipping_address.{name}": ["This field may not be blank."] for name in blank}
            )


@dataclass(frozen=True, kw_only=True)
class CustomerCreated(DomainEvent):
    first_name: str
    last_name: str
    shipping_address: Address
    credit_limit: Decimal


@dataclass(frozen=True, kw_only=True)
class CustomerUpdated(DomainEvent):
    first_name: str
    last_name: str
    credit_limit: Decimal


@dataclass(frozen=True, kw_only=True)
class CustomerAddressUpdated(DomainEvent):
    shipping_address: Address


@dataclass(frozen=True, kw_only=True)
class CustomerDeleted(DomainEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class CreditReserved(DomainEvent):
    amount: Decimal
    reservation: str


@dataclass(frozen=True, kw_only=True)
class CreditReleased(DomainEvent):
    amount: Decimal
    reservation: str


def _check(first_name: str, last_name: str, credit_limit: Decimal, reserved: Decimal) -> None:
    errors: dict[str, list[str]] = {}
    for name, value in (("first_name", first_name), ("last_name", last_name)):
        if not value.strip():
            errors[name] = ["This field may not be blank."]
        elif len(value) > NAME_MAX:
            errors[name] = [f"Ensure this field has no more than {NAME_MAX} characters."]
    if credit_limit < 0:
        errors["credit_limit"] = ["Credit limit cannot be negative."]
    if errors:
        raise ValidationFailed(errors)
    if credit_limit < reserved:  # a valid limit, refused only while open orders hold credit
        raise InvalidState(f"Credit limit cannot be below the reserved credit {reserved}.")


class Customer(AggregateRoot):
    kind = "customer"

    def __init__(
        self,
        id: uuid.UUID,
        *,
        first_name: str,
        last_name: str,
        shipping_address: Address,
        credit_limit: Decimal,
        credit_reserved: Decimal = Decimal("0"),
        version: int = 0,
    ) -> None:
        super().__init__(id, version)
        self.first_name = first_name
        self.last_name = last_name
        self.shipping_address = shipping_address
        self.credit_limit = credit_limit
        self.credit_reserved = credit_reserved

    @classmethod
    def create(
        cls,
        id: uuid.UUID,
        *,
        first_name: str,
        last_name: str,
        shipping_address: Address,
        credit_limit: Decimal,
    ) -> Customer:
        _check(first_name, last_name, credit_limit, Decimal("0"))
        customer = cls(
            id,
            first_name=first_name,
            last_name=last_name,
            shipping_address=shipping_address,
            credit_limit=credit_limit,
        )
        customer.record(
            CustomerCreated(
                aggregate_id=id,
                first_name=first_name,
                last_name=last_name,
                shipping_address=shipping_address,
                credit_limit=credit_limit,
            )
        )
        return customer

    @property
    def credit_available(self) -> Decimal:
        return self.credit_limit - self.credit_reserved

    def update(
        self,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        shipping_address: Address | None = None,
        credit_limit: Decimal | None = None,
    ) -> None:
        """Change the given attributes; ``None`` leaves one as it is."""
        new_first = self.first_name if first_name is None else first_name
        new_last = self.last_name if last_name is None else last_name
        new_limit = self.credit_limit if credit_limit is None else credit_limit
        _check(new_first, new_last, new_limit, self.credit_reserved)
        if (new_first, new_last, new_limit) != (self.first_name, self.last_name, self.credit_limit):
            self.first_name, self.last_name, self.credit_limit = new_first, new_last, new_limit
            self.record(
                CustomerUpdated(
                    aggregate_id=self.id,
                    first_name=new_first,
                    last_name=new_last,
                    credit_limit=new_limit,
                )
            )
        if shipping_address is not None and shipping_address != self.shipping_address:
            self.shipping_address = shipping_address
            self.record(
                CustomerAddressUpdated(aggregate_id=self.id, shipping_address=shipping_address)
            )

    def reserve_credit(self, amount: Decimal, reservation: str) -> None:
        """Set ``amount`` aside for ``reservation`` (an order); refuse beyond the limit."""
        if amount <= 0:
            raise ValidationFailed({"amount": ["Reserve a positive amount."]})
        if amount > self.credit_available:
            raise InvalidState(
                f"Customer {self.id} has {self.credit_available} credit "
                f"available, {amount} requested."
            )
        self.credit_reserved += amount
        self.record(CreditReserved(aggregate_id=self.id, amount=amount, reservation=reservation))

    def release_credit(self, amount: Decimal, reservation: str) -> None:
        """Give back credit set aside for ``reservation``."""
        if amount <= 0 or amount > self.credit_reserved:
            raise ValidationFailed({"amount": [f"Release between 0 and {self.credit_reserved}."]})
        self.credit_reserved -= amount
        self.record(CreditReleased(aggregate_id=self.id, amount=amount, reservation=reservation))

    def delete(self) -> None:
        if self.credit_reserved > 0:
            raise InvalidState(
                f"Customer {self.id} has {self.credit_reserved} credit reserved by open orders."
            )
        self.record(CustomerDeleted(aggregate_id=self.id))
