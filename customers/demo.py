"""Demo customers for the one-process quick start (created through the command handlers)."""

import uuid
from decimal import Decimal

from customers import commands
from customers.models import CustomerRecord
from edn_core.cqrs import send

DEMO = [
    (
        "2b7c1c64-3f43-4c55-9a0f-1f6d3b2a9c01",
        "Ada",
        "Lovelace",
        "12 St James's Square",
        "London",
        "London",
        "UK",
        "SW1Y 4JH",
        "100.00",
    ),
    (
        "2b7c1c64-3f43-4c55-9a0f-1f6d3b2a9c02",
        "Grace",
        "Hopper",
        "1 Navy Yard",
        "Arlington",
        "VA",
        "USA",
        "22202",
        "250.00",
    ),
    (
        "2b7c1c64-3f43-4c55-9a0f-1f6d3b2a9c03",
        "Alan",
        "Turing",
        "78 High Street",
        "Wilmslow",
        "Cheshire",
        "UK",
        "SK9 1AA",
        "50.00",
    ),
]


def load() -> int:
    created = 0
    for cid, first, last, street, city, state, country, postal, limit in DEMO:
        if CustomerRecord.objects.filter(pk=cid).exists():
            continue
        address = {
            "street": street,
            "city": city,
            "state": state,
            "country": country,
            "postal_code": postal,
        }
        result = send(
            commands.CreateCustomer(
                customer_id=uuid.UUID(cid),
                first_name=first,
                last_name=last,
                shipping_address=address,
                credit_limit=Decimal(limit),
            )
        )
        created += result.accepted
    return created
