"""Integration events orders publishes (schemas in orders/schemas/) and the ones it handles."""

from uuid import UUID

from edn_core.bus.subscriptions import subscribe
from edn_core.events import publishes
from orders import commands
from orders.domain import OrderCancelled, OrderPlaced, OrderShipped


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


@subscribe("v1.CustomerAddressUpdated", latest_wins=True)
def update_shipping_address_of_open_orders(event) -> None:
    address = event.data["shippingAddress"]
    commands.change_customer_shipping_address(
        commands.ChangeCustomerShippingAddress(
            customer_id=UUID(event.data["customerId"]),
            shipping_address={
                "street": address["street"],
                "city": address["city"],
                "state": address["state"],
                "country": address["country"],
                "postal_code": address["postalCode"],
            },
        )
    )
