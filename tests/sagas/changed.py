"""Changed create-order definitions the replay and versioning tests run against, and the data
of an order to start one with."""

import dataclasses
import uuid

from order_saga.sagas import create_order
from sagas.definition import SagaDefinition


def stock_before_credit(version: int = 1) -> SagaDefinition:
    """The create-order saga with its two reservations swapped: stock first, then credit."""
    order, credit, stock, confirm = create_order.steps
    return dataclasses.replace(create_order, version=version, steps=(order, stock, credit, confirm))


def shorter_rejection_reason() -> SagaDefinition:
    """The create-order saga rejecting orders with a reason cut at 20 characters, not 500."""
    first, *rest = create_order.steps
    rejection = dataclasses.replace(
        first.compensation,
        build=lambda f: {"orderId": f["orderId"], "reason": f["reason"][:20]},
    )
    return dataclasses.replace(
        create_order, steps=(dataclasses.replace(first, compensation=rejection), *rest)
    )


def order_data() -> dict:
    """A placed order's data, as v1.OrderPlaced carries it (3 x 7.50)."""
    return {
        "orderId": str(uuid.uuid4()),
        "customerId": str(uuid.uuid4()),
        "orderTotal": "22.50",
        "items": [
            {"productId": str(uuid.uuid4()), "productName": "Widget", "productPrice": "7.50",
             "quantity": 3},
        ],
    }  # fmt: skip
