"""Demo products for the one-process quick start (created through the command handlers)."""

import uuid

from edn_core.cqrs import send
from inventory import commands
from inventory.models import ProductRecord

DEMO = [
    ("8a0e3b9c-6c5e-4b7a-9f55-2f0f7c1d1a01", "Widget", 9),
    ("8a0e3b9c-6c5e-4b7a-9f55-2f0f7c1d1a02", "Gadget", 25),
    ("8a0e3b9c-6c5e-4b7a-9f55-2f0f7c1d1a03", "Gizmo", 3),
]


def load() -> int:
    created = 0
    for product_id, description, amount in DEMO:
        if ProductRecord.objects.filter(pk=product_id).exists():
            continue
        result = send(
            commands.CreateProduct(
                product_id=uuid.UUID(product_id), description=description, amount_available=amount
            )
        )
        created += result.accepted
    return created
