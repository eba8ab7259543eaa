"""Write side of customers: commands and their handlers."""

from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from uuid import UUID

from customers.domain import Address, Customer
from customers.models import CreditReservation, CustomerRepository
from edn_core.cqrs import Answer, Command, handles
from edn_core.domain import NotFound, new_id
from edn_core.reservations import Ledger

customers = CustomerRepository()
ledger = Ledger(CreditReservation, customers.alias)


@dataclass(frozen=True, kw_only=True)
class CreateCustomer(Command):
    first_name: str
    last_name: str
    shipping_address: dict
    credit_limit: Decimal
    customer_id: UUID | None = None


@dataclass(frozen=True, kw_only=True)
class UpdateCustomer(Command):
    customer_id: UUID
    expected_version: int | None
    first_name: str | None = None
    last_name: str | None = None
    shipping_address: dict | None = None
    credit_limit: Decimal | None = None


@dataclass(frozen=True, kw_only=True)
class DeleteCustomer(Command):
    customer_id: UUID
    expected_version: int | None


@handles(CreateCustomer)
def create_customer(cmd: CreateCustomer) -> Customer:
    customer = Customer.create(
        cmd.customer_id or new_id(),
        first_name=cmd.first_name,
        last_name=cmd.last_name,
        shipping_address=Address(**cmd.shipping_address),
        credit_limit=cmd.credit_limit,
    )
    with customers.atomic():
        customers.add(customer)
    return customer


@handles(UpdateCustomer)
def update_customer(cmd: UpdateCustomer) -> Customer:
    def apply(customer: Customer) -> None:
        address = None
        if cmd.shipping_address is not None:  # PATCH may name only some address parts
            address = customer.shipping_address.replace(**cmd.shipping_address)
        customer.update(
            first_name=cmd.first_name,
            last_name=cmd.last_name,
            shipping_address=address,
            credit_limit=cmd.credit_limit,
        )

    return customers.change(cmd.customer_id, apply, cmd.expected_version)


@handles(DeleteCustomer)
def delete_customer(cmd: DeleteCustomer) -> None:
    with customers.atomic():
        customer = customers.get(cmd.customer_id)
        customer.check_version(cmd.expected_version)
        customer.delete()
        customers.remove(customer)


@dataclass(frozen=True, kw_only=True)
class CreditRequest:
    """Credit to set aside for ``reservation`` (an order), at most once."""

    customer_id: UUID
    amount: Decimal
    reservation: str


@dataclass(frozen=True, kw_only=True)
class ReserveCredits(Command):
    """Reservations in order (a delivery batch of requests): one load, one save."""

    requests: list[CreditRequest]


@dataclass(frozen=True, kw_only=True)
class ReleaseCredits(Command):
    """Give back whatever each reservation holds, at most once (see edn_core.reservations)."""

    reservations: list[str]


@handles(ReserveCredits)
def reserve_credits(cmd: ReserveCredits) -> list[Answer]:
    with customers.atomic(savepoint=False):
        loaded = customers.get_many({request.customer_id for request in cmd.requests})

        def hold(request: CreditRequest) -> None:
            customer = loaded.get(request.customer_id)
            if customer is None:
                raise NotFound(f"customer {request.customer_id} does not exist.")
            customer.reserve_credit(request.amount, request.reservation)

        answers = ledger.reserve(
            [
                (
                    r.reservation,
                    {"customerId": str(r.customer_id), "amount": str(r.amount)},
                    partial(hold, r),
                )
                for r in cmd.requests
            ]
        )
        customers.save_all([c for c in loaded.values() if c.pending_events])
    return answers


@handles(ReleaseCredits)
def release_credits(cmd: ReleaseCredits) -> list[Answer]:
    loaded: dict = {}

    def load(details: list[dict]) -> None:
        loaded.update(customers.get_many({UUID(d["customerId"]) for d in details}))

    def undo(reservation: str, held: dict) -> None:
        loaded[UUID(held["customerId"])].release_credit(Decimal(held["amount"]), reservation)

    with customers.atomic(savepoint=False):
        answers = ledger.release(cmd.reservations, undo, load)
        customers.save_all([c for c in loaded.values() if c.pending_events])
    return answers
