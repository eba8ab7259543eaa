"""Reference flows through the HTTP API, in one process, with the bus driven by the harness."""

import pytest

from edn_core.testing import EventBus
from tests.customers.factories import customer_payload

pytestmark = pytest.mark.django_db(databases="__all__")

NEW_ADDRESS = {
    "street": "221B Baker Street",
    "city": "London",
    "state": "Greater London",
    "country": "UK",
    "postalCode": "NW1 6XE",
}


def order_payload(customer_id, address):
    return {
        "customerId": customer_id,
        "shippingAddress": address,
        "items": [
            {
                "productId": "8a0e3b9c-6c5e-4b7a-9f55-2f0f7c1d1a01",
                "productName": "Widget",
                "productPrice": "7.50",
                "quantity": 3,
            }
        ],
    }


def test_address_changed_flow(api):
    bus = EventBus()
    created = api.post("/api/customers", customer_payload(), format="json")
    customer = created.json()
    address = customer["shippingAddress"]
    open_order = api.post("/api/orders", order_payload(customer["id"], address), format="json")
    shipped = api.post("/api/orders", order_payload(customer["id"], address), format="json")
    ship = api.post(f"{shipped['Location']}/ship", HTTP_IF_MATCH=shipped["ETag"])
    assert (open_order.status_code, ship.status_code) == (202, 200)

    update = api.put(
        created["Location"],
        customer_payload(shippingAddress=NEW_ADDRESS),
        format="json",
        HTTP_IF_MATCH=created["ETag"],
    )
    assert update.status_code == 200
    assert bus.run_until_quiet() >= 1

    assert api.get(open_order["Location"]).json()["shippingAddress"] == NEW_ADDRESS
    assert api.get(shipped["Location"]).json()["shippingAddress"] == address  # closed order
    (event,) = bus.published("v1.CustomerAddressUpdated")
    assert event.data["shippingAddress"] == NEW_ADDRESS
    assert bus.pending() == 0 and bus.dead_letters() == []


def test_the_order_etag_changes_when_its_address_follows_the_customer(api):
    bus = EventBus()
    created = api.post("/api/customers", customer_payload(), format="json")
    order = api.post(
        "/api/orders",
        order_payload(created.json()["id"], created.json()["shippingAddress"]),
        format="json",
    )
    api.put(
        created["Location"],
        customer_payload(shippingAddress=NEW_ADDRESS),
        format="json",
        HTTP_IF_MATCH=created["ETag"],
    )
    bus.run_until_quiet()
    stale = api.post(f"{order['Location']}/ship", HTTP_IF_MATCH=order["ETag"])
    assert stale.status_code == 412
    fresh = api.get(order["Location"])
    assert api.post(f"{order['Location']}/ship", HTTP_IF_MATCH=fresh["ETag"]).status_code == 200
