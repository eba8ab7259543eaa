"""Write side of inventory: commands and their handlers."""

from collections import Counter
from dataclasses import dataclass
from functools import partial
from uuid import UUID

from edn_core.cqrs import Answer, Command, handles
from edn_core.domain import NotFound, new_id
from edn_core.reservations import Ledger
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
class StockRequest:
    """Stock to reserve for ``reservation``, every line or none, at most once: ``lines`` is
    ``[(product id, quantity)]``."""

    reservation: str
    lines: list[tuple[UUID, int]]


@dataclass(frozen=True, kw_only=True)
class ReserveStocks(Command):
    """Reservations in order (a delivery batch of requests): one load, one save."""

    requests: list[StockRequest]


@dataclass(frozen=True, kw_only=True)
class ReleaseStocks(Command):
    """Return whatever each reservation holds, at most once (see edn_core.reservations)."""

    reservations: list[str]


@handles(ReserveStocks)
def reserve_stocks(cmd: ReserveStocks) -> list[Answer]:
    """Each reservation all or nothing: every line is checked before any stock moves."""
    with products.atomic(savepoint=False):
        loaded = products.get_many({p for request in cmd.requests for p, _ in request.lines})

        def hold(request: StockRequest) -> None:
            wanted: Counter = Counter()
            for product_id, quantity in request.lines:
                if product_id not in loaded:
                    raise NotFound(f"product {product_id} does not exist.")
                wanted[product_id] += quantity
            for product_id, quantity in sorted(wanted.items()):
                loaded[product_id].check_reservable(quantity)
            for product_id, quantity in sorted(request.lines):
                loaded[product_id].reserve(quantity, request.reservation)

        answers = ledger.reserve(
            [
                (r.reservation, {"lines": [[str(p), q] for p, q in r.lines]}, partial(hold, r))
                for r in cmd.requests
            ]
        )
        products.save_all([p for p in loaded.values() if p.pending_events])
    return answers


@handles(ReleaseStocks)
def release_stocks(cmd: ReleaseStocks) -> list[Answer]:
    loaded: dict = {}

    def load(details: list[dict]) -> None:
        loaded.update(products.get_many({UUID(p) for d in details for p, _ in d["lines"]}))

    def undo(reservation: str, held: dict) -> None:
        for product_id, quantity in sorted(held["lines"]):
            loaded[UUID(product_id)].release(quantity, reservation)

    with products.atomic(savepoint=False):
        answers = ledger.release(cmd.reservations, undo, load)
        products.save_all([p for p in loaded.values() if p.pending_events])
    return answers
