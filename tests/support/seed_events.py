"""Run inside a service process (manage.py shell -c): open orders and outbox events to relay."""

import uuid
from decimal import Decimal

from django.db import transaction

from customers.domain import Address, CustomerAddressUpdated
from edn_core.bus.outbox import write_outbox
from edn_core.cqrs import send
from orders.commands import PlaceOrder


def seed(customers: int, events_each: int) -> None:
    """One open order per customer, then ``events_each`` address changes per customer."""
    ids = [uuid.uuid4() for _ in range(customers)]
    start = {"street": "0 Start", "city": "C", "state": "S", "country": "X", "postal_code": "0"}
    for customer in ids:
        send(
            PlaceOrder(
                customer_id=customer,
                shipping_address=start,
                items=[
                    {
                        "product_id": uuid.uuid4(),
                        "product_name": "Widget",
                        "product_price": Decimal("1.00"),
                        "quantity": 1,
                    }
                ],
            )
        )
    events = [
        (
            n,
            CustomerAddressUpdated(
                aggregate_id=c, shipping_address=Address(f"{n} Road", "C", "S", "X", str(n))
            ),
        )
        for n in range(1, events_each + 1)
        for c in ids
    ]
    with transaction.atomic(using="customers"):
        write_outbox("customers", events)
