"""Write side of inventory: commands and their handlers."""

from dataclasses import dataclass
from uuid import UUID

from edn_core.cqrs import Command, handles
from edn_core.domain import new_id
from edn_core.reservations import Ledger, Outcome
from inventory.domain import Product
from inventory.models import ProductRepository, StockReservation

products = ProductRepository()
ledger = Ledger(StockReservation, products.alias)


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


@dataclass(frozen=True, kw_only=True)
class ReserveStock(Command):
    """Reserve every line or none, at most once: ``lines`` is ``[(product id, quantity)]``."""

    reservation: str
    lines: list[tuple[UUID, int]]


@dataclass(frozen=True, kw_only=True)
class ReleaseStock(Command):
    """Return whatever ``reservation`` holds, at most once (see edn_core.reservations)."""

    reservation: str


@handles(ReserveStock)
def reserve_stock(cmd: ReserveStock) -> Outcome:
    """All lines in one transaction: one short product refuses the whole reservation."""

    def hold() -> None:
        for product_id, quantity in sorted(cmd.lines):  # a fixed order avoids deadlocks
            products.change(product_id, lambda p, q=quantity: p.reserve(q, cmd.reservation))

    held = {"lines": [[str(product_id), quantity] for product_id, quantity in cmd.lines]}
    return ledger.reserve(cmd.reservation, held, hold)


@handles(ReleaseStock)
def release_stock(cmd: ReleaseStock) -> Outcome:
    def undo(held: dict) -> None:
        for product_id, quantity in sorted(held["lines"]):
            products.change(UUID(product_id), lambda p, q=quantity: p.release(q, cmd.reservation))

    return ledger.release(cmd.reservation, undo)
