"""Integration events customers publishes (schemas in customers/schemas/), and the credit
requests of sagas it answers (a reply per request, written with the change it reports)."""

from decimal import Decimal
from uuid import UUID

from customers import commands
from customers.domain import CustomerAddressUpdated
from edn_core.bus.outbox import reply_all
from edn_core.bus.subscriptions import subscribe
from edn_core.cqrs import send
from edn_core.events import publishes, sends

RESERVED, RESERVE_FAILED = "v1.CustomerCreditReserved", "v1.CustomerCreditReserveFailed"
RELEASED = "v1.CustomerCreditReleased"
sends(RESERVED, RESERVE_FAILED, RELEASED, app="customers")


@publishes(CustomerAddressUpdated, topic="v1.CustomerAddressUpdated")
def address_updated(event: CustomerAddressUpdated) -> dict:
    address = event.shipping_address
    return {
        "customerId": str(event.aggregate_id),
        "shippingAddress": {
            "street": address.street,
            "city": address.city,
            "state": address.state,
            "country": address.country,
            "postalCode": address.postal_code,
        },
    }


@subscribe("v1.CustomerCreditReserveRequested", batch=True)
def reserve_credit_for_sagas(events) -> None:
    """A batch of requests: one load of the customers, one save, one insert of the replies."""
    requests = [
        commands.CreditRequest(
            customer_id=UUID(e.data["customerId"]),
            amount=Decimal(e.data["amount"]),
            reservation=e.data["reservation"],
        )
        for e in events
    ]
    answers = send(commands.ReserveCredits(requests=requests)).value_or_raise()
    replies = []
    for event, answer in zip(events, answers, strict=True):
        reply = {k: event.data[k] for k in ("reservation", "customerId", "amount")}
        if answer.ok:
            replies.append((event, RESERVED, reply))
        else:
            replies.append((event, RESERVE_FAILED, {**reply, "reason": answer.reason}))
    reply_all("customers", replies)


@subscribe("v1.CustomerCreditReleaseRequested", batch=True)
def release_credit_for_sagas(events) -> None:
    reservations = [e.data["reservation"] for e in events]
    answers = send(commands.ReleaseCredits(reservations=reservations)).value_or_raise()
    reply_all(
        "customers",
        [
            (e, RELEASED, {"reservation": r, "amount": (a.detail or {}).get("amount", "0")})
            for e, r, a in zip(events, reservations, answers, strict=True)
        ],
    )


@subscribe("v1.OrderCancelled", batch=True)
def release_credit_of_cancelled_orders(events) -> None:
    """A cancelled order gives its credit back (its reservation is the order id); an order
    that held none leaves a tombstone, so a create-order saga still in flight stops there."""
    reservations = [e.data["orderId"] for e in events]
    send(commands.ReleaseCredits(reservations=reservations)).value_or_raise()
