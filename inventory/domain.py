"""The Product aggregate: stock on hand, reserved for orders all or nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from edn_core.domain import AggregateRoot, DomainEvent, InvalidState, ValidationFailed

DESCRIPTION_MAX = 200


@dataclass(frozen=True, kw_only=True)
class ProductCreated(DomainEvent):
    description: str
    amount_available: int


@dataclass(frozen=True, kw_only=True)
class ProductUpdated(DomainEvent):
    description: str
    amount_available: int


@dataclass(frozen=True, kw_only=True)
class StockReserved(DomainEvent):
    quantity: int
    reservation: str
    amount_available: int


@dataclass(frozen=True, kw_only=True)
class StockReleased(DomainEvent):
    quantity: int
    reservation: str
    amount_available: int


def _check(description: str, amount: int) -> None:
    errors: dict[str, list[str]] = {}
    if not description.strip():
        errors["description"] = ["This field may not be blank."]
    elif len(description) > DESCRIPTION_MAX:
        errors["description"] = [
            f"Ensure this field has no more than {DESCRIPTION_MAX} characters."
        ]
    if amount < 0:
        errors["amount_available"] = ["Stock cannot be negative."]
    if errors:
        raise ValidationFailed(errors)


class Product(AggregateRoot):
    kind = "product"

    def __init__(
        self, id: uuid.UUID, *, description: str, amount_available: int, version: int = 0
    ) -> None:
        super().__init__(id, version)
        self.description = description
        self.amount_available = amount_available

    @classmethod
    def create(cls, id: uuid.UUID, *, description: str, amount_available: int) -> Product:
        _check(description, amount_available)
        product = cls(id, description=description, amount_available=amount_available)
        product.record(
            ProductCreated(
                aggregate_id=id, description=description, amount_available=amount_available
            )
        )
        return product

    def update(self, *, description: str | None = None, amount_available: int | None = None):
        new_description = self.description if description is None else description
        new_amount = self.amount_available if amount_available is None else amount_available
        _check(new_description, new_amount)
        if (new_description, new_amount) != (self.description, self.amount_available):
            self.description, self.amount_available = new_description, new_amount
            self.record(
                ProductUpdated(
                    aggregate_id=self.id, description=new_description, amount_available=new_amount
                )
            )

    def check_reservable(self, quantity: int) -> None:
        """Raise unless ``quantity`` could be reserved now (changes nothing)."""
        if quantity < 1:
            raise ValidationFailed({"quantity": ["Reserve at least one unit."]})
        if quantity > self.amount_available:
            raise InvalidState(
                f"Only {self.amount_available} of product {self.id} available, "
                f"{quantity} requested.",
                available=self.amount_available,
            )

    def reserve(self, quantity: int, reservation: str) -> None:
        """Take ``quantity`` out of the available stock for ``reservation`` (e.g. an order)."""
        self.check_reservable(quantity)
        self.amount_available -= quantity
        self.record(
            StockReserved(
                aggregate_id=self.id,
                quantity=quantity,
                reservation=reservation,
                amount_available=self.amount_available,
            )
        )

    def release(self, quantity: int, reservation: str) -> None:
        """Return ``quantity`` reserved for ``reservation`` to the available stock."""
        if quantity < 1:
            raise ValidationFailed({"quantity": ["Release at least one unit."]})
        self.amount_available += quantity
        self.record(
            StockReleased(
                aggregate_id=self.id,
                quantity=quantity,
                reservation=reservation,
                amount_available=self.amount_available,
            )
        )
