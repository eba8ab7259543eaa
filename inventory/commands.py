"""Write side of inventory: commands and their handlers."""

from dataclasses import dataclass
from uuid import UUID

from edn_core.cqrs import Command, handles
from edn_core.domain import new_id
from inventory.domain import Product
from inventory.models import ProductRepository

products = ProductRepository()


@dataclass(frozen=True, kw_only=True)
class CreateProduct(Command):
    description: str
    amount_available: int
    product_id: UUID | None = None


@dataclass(frozen=True, kw_only=True)
class UpdateProduct(Command):
    product_id: UUID
    expected_version: int | None
    description: str | None = None
    amount_available: int | None = None


@dataclass(frozen=True, kw_only=True)
class ReserveStock(Command):
    """Reserve every line or none: ``lines`` is ``[(product id, quantity), ...]``."""

    reservation: str
    lines: list[tuple[UUID, int]]


@dataclass(frozen=True, kw_only=True)
class ReleaseStock(Command):
    reservation: str
    lines: list[tuple[UUID, int]]


@handles(CreateProduct)
def create_product(cmd: CreateProduct) -> Product:
    product = Product.create(
        cmd.product_id or new_id(),
        description=cmd.description,
        amount_available=cmd.amount_available,
    )
    with products.atomic():
        products.add(product)
    return product


@handles(UpdateProduct)
def update_product(cmd: UpdateProduct) -> Product:
    return products.change(
        cmd.product_id,
        lambda p: p.update(description=cmd.description, amount_available=cmd.amount_available),
        cmd.expected_version,
    )


@handles(ReserveStock)
def reserve_stock(cmd: ReserveStock) -> None:
    """All lines in one transaction: one short product fails the whole reservation."""
    with products.atomic():
        for product_id, quantity in sorted(cmd.lines):  # a fixed order avoids deadlocks
            products.change(product_id, lambda p, q=quantity: p.reserve(q, cmd.reservation))


@handles(ReleaseStock)
def release_stock(cmd: ReleaseStock) -> None:
    with products.atomic():
        for product_id, quantity in sorted(cmd.lines):
            products.change(product_id, lambda p, q=quantity: p.release(q, cmd.reservation))
