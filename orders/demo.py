"""A demo order for the one-process quick start (placed through the command handler): Grace
Hopper's two Gadgets, so the address flow of the README has an order to move. The
create-order saga turns it from Pending into Created once the server's relay publishes it."""

import uuid
from decimal import Decimal

from edn_core.cqrs import send
from orders import commands, queries

ORDER = "4f1d2e3c-5b6a-4789-8abc-0d1e2f3a4b01"
CUSTOMER = "2b7c1c64-3f43-4c55-9a0f-1f6d3b2a9c02"  # Grace Hopper (customers/demo.py)
PRODUCT = "8a0e3b9c-6c5e-4b7a-9f55-2f0f7c1d1a02"  # Gadget (inventory/demo.py)


def load() -> int:
    if queries.get_order(uuid.UUID(ORDER)) is not None:
        return 0
    address = {
        "street": "1 Navy Yard",
        "city": "Arlington",
        "state": "VA",
        "country": "USA",
        "postal_code": "22202",
    }
    line = {
        "product_id": uuid.UUID(PRODUCT),
        "product_name": "Gadget",
        "product_price": Decimal("12.00"),
        "quantity": 2,
    }
    command = commands.PlaceOrder(
        order_id=uuid.UUID(ORDER),
        customer_id=uuid.UUID(CUSTOMER),
        shipping_address=address,
        items=[line],
    )
    return int(send(command).accepted)
