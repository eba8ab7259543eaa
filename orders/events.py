"""Integration events orders publishes (schemas in orders/schemas/) and the ones it handles."""

from uuid import UUID

from edn_core.bus.outbox import reply_all
from edn_core.bus.subscriptions import subscribe
from edn_core.cqrs import send
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
    addresses = {UUID(e.data["customerId"]): _address(e.data["shippingAddress"]) for e in events}
    send(commands.ChangeShippingAddresses(addresses=addresses)).value_or_raise()


def _address(data: dict) -> dict:
    return {
        "street": data["street"],
        "city": data["city"],
        "state": data["state"],
        "country": data["country"],
        "postal_code": data["postalCode"],
    }


@subscribe("v1.OrderConfirmRequested", batch=True)
def confirm_orders_for_sagas(events) -> None:
    verdicts = [(UUID(e.data["orderId"]), None) for e in events]
    answers = send(commands.SettleOrders(verdicts=verdicts)).value_or_raise()
    replies = []
    for event, answer in zip(events, answers, strict=True):
        order_id = event.data["orderId"]
        if answer.ok:
            replies.append((event, CONFIRMED, {"orderId": order_id, "state": _state(answer)}))
        else:  # cancelled meanwhile, or unknown: the saga compensates
            replies.append((event, CONFIRM_FAILED, {"orderId": order_id, "reason": answer.reason}))
    reply_all("orders", replies)


@subscribe("v1.OrderRejectRequested", batch=True)
def reject_orders_for_sagas(events) -> None:
    """Closed orders stay as they are; the reply says the order's state either way."""
    verdicts = [(UUID(e.data["orderId"]), e.data["reason"]) for e in events]
    answers = send(commands.SettleOrders(verdicts=verdicts)).value_or_raise()
    reply_all(
        "orders",
        [
            (e, REJECTED, {"orderId": e.data["orderId"], "state": _state(answer)})
            for e, answer in zip(events, answers, strict=True)
        ],
    )


def _state(answer) -> str:
    return answer.detail["state"] if answer.ok else f"unknown: {answer.reason}"
