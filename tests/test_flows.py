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


def order_payload(customer_id, address, product_id="8a0e3b9c-6c5e-4b7a-9f55-2f0f7c1d1a01"):
    return {
        "customerId": customer_id,
        "shippingAddress": address,
        "items": [
            {
                "productId": product_id,
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
    product = api.post(
        "/api/inventory", {"description": "Widget", "amountAvailable": 9}, format="json"
    )
    payload = order_payload(customer["id"], address, product.json()["id"])
    open_order = api.post("/api/orders", payload, format="json")
    shipped = api.post("/api/orders", payload, format="json")
    bus.run_until_quiet()  # the create-order saga makes both Created
    etag = api.get(shipped["Location"])["ETag"]
    ship = api.post(f"{shipped['Location']}/ship", HTTP_IF_MATCH=etag)
    assert (open_order.status_code, ship.status_code) == (202, 200)

    update = api.put(
        created["Location"],
        customer_payload(shippingAddress=NEW_ADDRESS),
        format="json",
        HTTP_IF_MATCH=api.get(created["Location"])["ETag"],  # reservations moved it
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
    product = api.post(
        "/api/inventory", {"description": "Widget", "amountAvailable": 9}, format="json"
    )
    customer = created.json()
    order = api.post(
        "/api/orders",
        order_payload(customer["id"], customer["shippingAddress"], product.json()["id"]),
        format="json",
    )
    bus.run_until_quiet()  # Created by the saga: version 2
    order = api.get(order["Location"])
    api.put(
        created["Location"],
        customer_payload(shippingAddress=NEW_ADDRESS),
        format="json",
        HTTP_IF_MATCH=api.get(created["Location"])["ETag"],  # reservations moved it
    )
    bus.run_until_quiet()
    location = f"/api/orders/{order.json()['id']}"
    stale = api.post(f"{location}/ship", HTTP_IF_MATCH=order["ETag"])
    assert stale.status_code == 412
    fresh = api.get(location)
    assert fresh["ETag"] != order["ETag"]
    assert api.post(f"{location}/ship", HTTP_IF_MATCH=fresh["ETag"]).status_code == 200
