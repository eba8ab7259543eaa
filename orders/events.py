"""Integration events orders publishes (schemas in orders/schemas/) and the ones it handles."""

from uuid import UUID

from edn_core.bus.outbox import send
from edn_core.bus.subscriptions import subscribe
from edn_core.domain import ConcurrencyConflict, DomainError
from edn_core.events import publishes, sends
from orders import commands
from orders.domain import OrderCancelled, OrderPlaced, OrderShipped

CONFIRMED, CONFIRM_FAILED, REJECTED = (
    "v1.OrderConfirmed",
    "v1.OrderConfirmFailed",
    "v1.OrderRejected",
)
sends(CONFIRMED, CONFIRM_FAILED, REJECTED, app="orders")


@publishes(OrderPlaced, topic="v1.OrderPlaced")
def order_placed(event: OrderPlaced) -> dict:
    return {
        "orderId": str(event.aggregate_id),
        "customerId": str(event.customer_id),
        "orderTotal": str(event.order_total),
        "items": [
            {
                "productId": str(i.product_id),
                "productName": i.product_name,
                "productPrice": str(i.product_price),
                "quantity": i.quantity,
            }
            for i in event.items
        ],
    }


@publishes(OrderShipped, topic="v1.OrderShipped")
def order_shipped(event: OrderShipped) -> dict:
    return {"orderId": str(event.aggregate_id), "customerId": str(event.customer_id)}


@publishes(OrderCancelled, topic="v1.OrderCancelled")
def order_cancelled(event: OrderCancelled) -> dict:
    return {"orderId": str(event.aggregate_id), "customerId": str(event.customer_id)}


@subscribe("v1.CustomerAddressUpdated", latest_wins=True, batch=True)
def update_shipping_address_of_open_orders(events) -> None:
    """A batch of address changes (the newest per customer) moves all their open orders."""
    commands.change_shipping_addresses(
        commands.ChangeShippingAddresses(
            addresses={
                UUID(e.data["customerId"]): _address(e.data["shippingAddress"]) for e in events
            }
        )
    )


def _address(data: dict) -> dict:
    return {
        "street": data["street"],
        "city": data["city"],
        "state": data["state"],
        "country": data["country"],
        "postal_code": data["postalCode"],
    }


@subscribe("v1.OrderConfirmRequested")
def confirm_order_for_saga(event) -> None:
    order_id = event.data["orderId"]
    try:
        order = commands.confirm_order(commands.ConfirmOrder(order_id=UUID(order_id)))
    except ConcurrencyConflict:
        raise  # not an answer: the delivery is retried
    except DomainError as refusal:  # cancelled meanwhile, or gone: the saga compensates
        send(
            "orders",
            CONFIRM_FAILED,
            {"orderId": order_id, "reason": refusal.message},
            key=event.aggregate_id,
        )
        return
    send(
        "orders",
        CONFIRMED,
        {"orderId": order_id, "state": order.state.value},
        key=event.aggregate_id,
    )


@subscribe("v1.OrderRejectRequested")
def reject_order_for_saga(event) -> None:
    order_id, reason = event.data["orderId"], event.data["reason"]
    try:
        order = commands.reject_order(commands.RejectOrder(order_id=UUID(order_id), reason=reason))
        state = order.state.value
    except ConcurrencyConflict:
        raise
    except DomainError as error:  # an order that is gone needs no rejecting
        state = f"unknown: {error.message}"
    send("orders", REJECTED, {"orderId": order_id, "state": state}, key=event.aggregate_id)
