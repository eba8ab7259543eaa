"""The sagas this orchestrator runs. Each depends only on topic contracts (schemas), never on
another app's code: the data it reads and writes is the JSON those schemas describe.

The create-order saga reserves credit and stock under the order's id, so that whoever later
ends the order (``v1.OrderCancelled``) can release them without knowing the saga."""

from datetime import timedelta

from django.conf import settings

from sagas.definition import Request, SagaDefinition, Step, register

STEP_TIMEOUT = timedelta(seconds=settings.EDN_SAGA_STEP_TIMEOUT_SECONDS)

create_order = register(
    SagaDefinition(
        "CreateOrder",
        started_by="v1.OrderPlaced",
        key=lambda order: order["orderId"],
        default_timeout=STEP_TIMEOUT,
        steps=(
            # The order exists (Pending) before the saga starts; undoing it rejects it.
            Step(
                "CreateOrder",
                compensation=Request(
                    "v1.OrderRejectRequested",
                    lambda f: {"orderId": f["orderId"], "reason": f["reason"][:500]},
                    success="v1.OrderRejected",
                ),
            ),
            Step(
                "ReserveCustomerCredit",
                action=Request(
                    "v1.CustomerCreditReserveRequested",
                    lambda f: {
                        "reservation": f["orderId"],
                        "customerId": f["customerId"],
                        "amount": f["orderTotal"],
                    },
                    success="v1.CustomerCreditReserved",
                    failure="v1.CustomerCreditReserveFailed",
                ),
                compensation=Request(
                    "v1.CustomerCreditReleaseRequested",
                    lambda f: {"reservation": f["orderId"], "customerId": f["customerId"]},
                    success="v1.CustomerCreditReleased",
                ),
            ),
            Step(
                "ReserveProductInventory",
                action=Request(
                    "v1.InventoryReserveRequested",
                    lambda f: {
                        "reservation": f["orderId"],
                        "lines": [
                            {"productId": i["productId"], "quantity": i["quantity"]}
                            for i in f["items"]
                        ],
                    },
                    success="v1.InventoryReserved",
                    failure="v1.InventoryReserveFailed",
                ),
                compensation=Request(
                    "v1.InventoryReleaseRequested",
                    lambda f: {"reservation": f["orderId"]},
                    success="v1.InventoryReleased",
                ),
            ),
            Step(
                "SetOrderStateCreated",
                action=Request(
                    "v1.OrderConfirmRequested",
                    lambda f: {"orderId": f["orderId"]},
                    success="v1.OrderConfirmed",
                    failure="v1.OrderConfirmFailed",
                ),
            ),
        ),
    )
)
