"""Forgetting a customer through HTTP: orders' shipping addresses (personal data of the
customer) read redacted on the order, the orders list and the audit trail; no table of the
orders alias keeps them (a dump); address changes still flow. Run on the configured backend
and on the other one (tests/edn_core/eventsourcing/test_personal_backends.py)."""

import io
import uuid

import pytest
from django.core.management import call_command

from edn_core.eventsourcing.personal import REDACTED
from edn_core.testing import EventBus
from orders.models import SubjectKey
from tests.customers.factories import customer_payload
from tests.edn_core.eventsourcing.personal_support import dump

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)  # pg_dump sees it

HIDDEN = {k: REDACTED for k in ("street", "city", "state", "country", "postalCode")}
SNAKE_HIDDEN = {k: REDACTED for k in ("street", "city", "state", "country", "postal_code")}


def unique_address() -> dict:
    tag = uuid.uuid4().hex[:12]  # texts found nowhere else
    return {
        "street": f"st{tag}",
        "city": f"ci{tag}",
        "state": f"sa{tag}",
        "country": f"co{tag}",
        "postalCode": f"P{tag}",
    }


def order_payload(customer_id, address, product_id) -> dict:
    line = {"productId": product_id, "productName": "Widget", "productPrice": "2.50"}
    return {
        "customerId": customer_id,
        "shippingAddress": address,
        "items": [line | {"quantity": 1}],
    }


def move(api, customer, address) -> None:
    response = api.put(
        customer["Location"],
        customer_payload(shippingAddress=address),
        format="json",
        HTTP_IF_MATCH=api.get(customer["Location"])["ETag"],
    )
    assert response.status_code == 200, response.content


def texts(*addresses) -> list[str]:
    return [value for address in addresses for value in address.values()]


def forgotten_customer_with_orders(api, bus):
    """A customer with an open order (moved to a second address) and a shipped one (still at
    the first), forgotten; and another customer's order."""
    first, second = unique_address(), unique_address()
    customer = api.post("/api/customers", customer_payload(shippingAddress=first), format="json")
    assert customer.status_code == 201, customer.content
    customer_id = customer.json()["id"]
    product = api.post("/api/inventory", {"description": "W", "amountAvailable": 9}, format="json")
    payload = order_payload(customer_id, first, product.json()["id"])
    open_order, shipped = (api.post("/api/orders", payload, format="json") for _ in range(2))
    bus.run_until_quiet()  # the create-order saga makes both Created
    etag = api.get(shipped["Location"])["ETag"]
    assert api.post(f"{shipped['Location']}/ship", HTTP_IF_MATCH=etag).status_code == 200
    move(api, customer, second)
    bus.run_until_quiet()
    assert api.get(open_order["Location"]).json()["shippingAddress"] == second
    assert api.get(shipped["Location"]).json()["shippingAddress"] == first
    other = unique_address()
    payload = order_payload(str(uuid.uuid4()), other, product.json()["id"])
    someone = api.post("/api/orders", payload, format="json")
    bus.run_until_quiet()

    out = io.StringIO()
    call_command("edn_forget", customer_id, "--app", "orders", stdout=out)
    assert "2 streams hold its sealed fields" in out.getvalue(), out.getvalue()
    bus.run_until_quiet()
    return customer, (open_order, shipped), someone, (first, second, other)


def test_a_forgotten_customers_orders_read_redacted_and_leave_no_plaintext(api):
    bus = EventBus()
    customer, (open_order, shipped), someone, (first, second, other) = (
        forgotten_customer_with_orders(api, bus)
    )
    customer_id = customer.json()["id"]
    for order in (open_order, shipped):
        body = api.get(order["Location"]).json()
        assert body["shippingAddress"] == HIDDEN and body["customerId"] == customer_id
        trail = api.get(f"{order['Location']}/events").json()["results"]
        addresses = [
            e["data"]["shipping_address"] for e in trail if "shipping_address" in e["data"]
        ]
        assert addresses and all(a == SNAKE_HIDDEN for a in addresses), addresses
    assert api.get(someone["Location"]).json()["shippingAddress"] == other
    leaked = dump("orders")
    assert [t for t in texts(first, second) if t in leaked] == []

    third = unique_address()
    move(api, customer, third)  # an address change in flight after the forget still flows
    bus.run_until_quiet()
    moved = api.get(open_order["Location"])
    assert moved["ETag"] == '"4"'  # placed, confirmed, moved, moved again
    assert moved.json()["shippingAddress"] == HIDDEN  # stored redacted: no new key
    assert SubjectKey.objects.using("orders").get(subject=customer_id).key is None
    assert [t for t in texts(first, second, third) if t in dump("orders")] == []


def test_the_orders_list_shows_a_forgotten_customers_addresses_redacted(api):
    bus = EventBus()
    customer, _, someone, (first, second, other) = forgotten_customer_with_orders(api, bus)
    listed = api.get("/api/orders", {"customerId": customer.json()["id"]}).json()["results"]
    assert [o["shippingAddress"] for o in listed] == [HIDDEN, HIDDEN]
    everyone = api.get("/api/orders").json()["results"]
    assert {o["id"]: o["shippingAddress"] for o in everyone}[someone.json()["id"]] == other
    leaked = dump("orders")
    assert other["street"] in leaked  # the list holds what was not forgotten
    assert [t for t in texts(first, second) if t in leaked] == []
