import uuid
from decimal import Decimal

import factory

from edn_core.cqrs import send
from orders import commands


class AddressFactory(factory.DictFactory):
    street = factory.Faker("street_address")
    city = factory.Faker("city")
    state = factory.Faker("state")
    country = factory.Faker("country_code")
    postal_code = factory.Faker("postcode")


class OrderItemFactory(factory.DictFactory):
    """One order line as the PlaceOrder command takes it (7.50 x 3 unless told otherwise)."""

    product_id = factory.LazyFunction(uuid.uuid4)
    product_name = factory.Faker("word")
    product_price = Decimal("7.50")
    quantity = 3


class PlaceOrderFactory(factory.Factory):
    """Builds a PlaceOrder command; ``create()`` sends it and returns the Order aggregate."""

    class Meta:
        model = commands.PlaceOrder

    customer_id = factory.LazyFunction(uuid.uuid4)
    shipping_address = factory.SubFactory(AddressFactory)
    items = factory.List([factory.SubFactory(OrderItemFactory)])

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        result = send(model_class(*args, **kwargs))
        assert result.accepted, result
        return result.value


def confirm(order):
    """Confirm ``order`` as the create-order saga does once credit and stock are reserved."""
    result = send(commands.SettleOrders(verdicts=[(order.id, None)]))
    assert result.accepted and result.value[0].detail == {"state": "Created"}, result
    return commands.orders.get(order.id)


def ship(order):
    """Ship ``order`` through its command; return the updated aggregate."""
    result = send(commands.ShipOrder(order_id=order.id, expected_version=order.version))
    assert result.accepted, result
    return result.value


def cancel(order):
    """Cancel ``order`` through its command; return the updated aggregate."""
    result = send(commands.CancelOrder(order_id=order.id, expected_version=order.version))
    assert result.accepted, result
    return result.value


def item_payload(**overrides) -> dict:
    """A valid order line in the API's camelCase."""
    item = {
        "productId": str(uuid.uuid4()),
        "productName": "Widget",
        "productPrice": "7.50",
        "quantity": 3,
    }
    item.update(overrides)
    return item


def order_payload(**overrides) -> dict:
    """A valid POST /api/orders body in the API's camelCase: one line of 7.50 x 3."""
    body = {
        "customerId": str(uuid.uuid4()),
        "shippingAddress": {
            "street": "12 St James's Square",
            "city": "London",
            "state": "London",
            "country": "UK",
            "postalCode": "SW1Y 4JH",
        },
        "items": [item_payload()],
    }
    body.update(overrides)
    return body


def stored_order(order_id):
    """The order as its stream holds it now (always current, unlike the orders list)."""
    from orders.store import orders

    return orders.get(uuid.UUID(str(order_id)))


def stored_orders(**where) -> list:
    """Every order in the store (optionally only those whose attributes match ``where``)."""
    from orders.models import OrderEvent
    from orders.store import orders

    streams = OrderEvent.objects.using(orders.alias).filter(version__gte=1)
    ids = {uuid.UUID(s) for s in streams.values_list("stream_id", flat=True).distinct()}
    found = orders.get_many(ids).values()
    return [o for o in found if all(getattr(o, k) == v for k, v in where.items())]
