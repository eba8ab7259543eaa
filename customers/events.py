"""Integration events customers publishes (schemas in customers/schemas/), and the credit
requests of sagas it answers (a reply per request, written with the change it reports)."""

from decimal import Decimal
from uuid import UUID

from customers import commands
from customers.domain import CustomerAddressUpdated
from edn_core.bus.outbox import send
from edn_core.bus.subscriptions import subscribe
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


@subscribe("v1.CustomerCreditReserveRequested")
def reserve_credit_for_saga(event) -> None:
    request = event.data
    outcome = commands.reserve_credit(
        commands.ReserveCredit(
            customer_id=UUID(request["customerId"]),
            amount=Decimal(request["amount"]),
            reservation=request["reservation"],
        )
    )
    reply = {k: request[k] for k in ("reservation", "customerId", "amount")}
    if outcome.ok:
        send("customers", RESERVED, reply, key=event.aggregate_id)
    else:
        send(
            "customers", RESERVE_FAILED, {**reply, "reason": outcome.reason}, key=event.aggregate_id
        )


@subscribe("v1.CustomerCreditReleaseRequested")
def release_credit_for_saga(event) -> None:
    reservation = event.data["reservation"]
    outcome = commands.release_credit(commands.ReleaseCredit(reservation=reservation))
    amount = (outcome.detail or {}).get("amount", "0")
    send(
        "customers",
        RELEASED,
        {"reservation": reservation, "amount": amount},
        key=event.aggregate_id,
    )


@subscribe("v1.OrderCancelled")
def release_credit_of_cancelled_order(event) -> None:
    """A cancelled order gives its credit back (its reservation is the order id); an order
    that held none leaves a tombstone, so a create-order saga still in flight stops there."""
    commands.release_credit(commands.ReleaseCredit(reservation=event.data["orderId"]))
