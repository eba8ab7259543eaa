"""The orders' audit trail and time travel through HTTP: GET /api/orders/{id}/events, and an
order (or a customer's orders) as of a version or a time."""

import uuid

import pytest

from edn_core.cqrs import send
from edn_core.testing import EventBus
from orders import commands
from orders.store import orders
from tests.orders.factories import AddressFactory, PlaceOrderFactory, confirm, order_payload

pytestmark = pytest.mark.django_db(databases="__all__")


def moved(order, street, orders_of_customer=1):
    address = AddressFactory(street=street)
    changes = commands.ChangeShippingAddresses(addresses={order.customer_id: address})
    assert send(changes).value == orders_of_customer


def test_the_audit_trail_lists_every_event_with_its_causes_paginated(api):
    placed = api.post("/api/orders", order_payload(), format="json")
    order_id = placed.json()["id"]
    order = orders.get(uuid.UUID(order_id))
    confirm(order)
    moved(order, "2 New St")
    page = api.get(f"/api/orders/{order_id}/events", {"pageSize": 2})
    assert page.status_code == 200, page.content
    body = page.json()
    assert body["count"] == 3 and body["next"]
    first, second = body["results"]
    assert (first["version"], first["type"]) == (1, "OrderPlaced")
    assert first["data"]["customer_id"] == placed.json()["customerId"]
    assert first["data"]["shipping_address"]["city"] == "London"
    assert first["subject"]  # the authenticated user who placed it
    assert first["correlationId"] and first["recordedAt"]
    assert (second["version"], second["type"]) == (2, "OrderConfirmed")
    (third,) = api.get(body["next"]).json()["results"]
    assert third["type"] == "OrderShippingAddressChanged"
    assert third["data"]["shipping_address"]["street"] == "2 New St"


def test_the_audit_trail_of_an_unknown_order_is_404_and_unknown_params_400(api):
    response = api.get(f"/api/orders/{uuid.uuid4()}/events")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
    order = PlaceOrderFactory.create()
    assert api.get(f"/api/orders/{order.id}/events", {"since": "1"}).status_code == 400


def test_an_order_as_of_a_version_or_a_time(api):
    order = PlaceOrderFactory.create()
    moved(order, "2 New St")
    moved(order, "3 New St")
    trail = api.get(f"/api/orders/{order.id}/events").json()["results"]
    at_two = api.get(f"/api/orders/{order.id}", {"version": "2"})
    assert at_two.status_code == 200 and at_two["ETag"] == '"2"'
    assert at_two.json()["shippingAddress"]["street"] == "2 New St"
    then = api.get(f"/api/orders/{order.id}", {"asOf": trail[0]["recordedAt"]})
    assert then.status_code == 200 and then["ETag"] == '"1"'
    assert then.json()["shippingAddress"]["street"] == order.shipping_address.street
    assert api.get(f"/api/orders/{order.id}")["ETag"] == '"3"'


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"version": "9"}, 404),  # the stream never had it
        ({"asOf": "2000-01-01T00:00:00Z"}, 404),  # before the order existed
        ({"version": "0"}, 400),
        ({"version": str(2**31)}, 400),  # beyond any stream's version
        ({"version": "two"}, 400),
        ({"asOf": "2026-12-01T10:00:00"}, 400),  # no offset: ambiguous
        ({"asOf": "yesterday"}, 400),
        ({"version": "1", "asOf": "2000-01-01T00:00:00Z"}, 404),  # not recorded by then
        ({"colour": "red"}, 400),
    ],
)
def test_bad_or_impossible_time_travel_is_a_clear_4xx(api, params, status):
    order = PlaceOrderFactory.create()
    response = api.get(f"/api/orders/{order.id}", params)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"


def test_a_customers_orders_as_of_a_time(api):
    customer = uuid.uuid4()
    first = PlaceOrderFactory.create(customer_id=customer)
    trail = api.get(f"/api/orders/{first.id}/events").json()["results"]
    second = PlaceOrderFactory.create(customer_id=customer)
    moved(first, "2 New St", orders_of_customer=2)
    EventBus().project()  # the orders list follows the store
    now = api.get("/api/orders", {"customerId": str(customer)}).json()["results"]
    assert [o["id"] for o in now] == [str(second.id), str(first.id)]  # newest first
    then = api.get("/api/orders", {"customerId": str(customer), "asOf": trail[0]["recordedAt"]})
    assert then.status_code == 200, then.content
    (only,) = then.json()["results"]
    assert only["id"] == str(first.id)
    assert only["shippingAddress"]["street"] == first.shipping_address.street
    assert api.get("/api/orders", {"asOf": trail[0]["recordedAt"]}).status_code == 400


def test_a_snapshot_is_taken_every_25_events_and_used_on_load():
    order = PlaceOrderFactory.create()
    for n in range(30):
        moved(order, f"{n} Snap St")
    orders.events_read = 0
    loaded = orders.get(order.id)
    assert loaded.version == 31 and loaded.shipping_address.street == "29 Snap St"
    assert orders.events_read == 6  # the 6 events after the snapshot at version 25


@pytest.mark.parametrize(
    ("when", "status"),
    [
        ("9999-12-31T23:59:59-14:00", 200),  # past what Python holds in UTC: the last instant
        ("9999-12-31t23:59:59.123456789z", 200),  # lower case, nanoseconds: any RFC 3339 time
        ("9999-12-31T23:59:60Z", 200),  # a leap second
        ("0001-01-01T00:00:00+14:00", 404),  # before the first instant: nothing existed
        ("2000-02-30T00:00:00Z", 400),  # no such day
    ],
)
def test_every_rfc_3339_time_is_understood(api, when, status):
    order = PlaceOrderFactory.create()
    response = api.get(f"/api/orders/{order.id}", {"asOf": when})
    assert response.status_code == status, response.content
    if status == 200:
        assert response["ETag"] == '"1"'
    listed = api.get("/api/orders", {"asOf": when, "customerId": str(order.customer_id)})
    assert listed.status_code == (400 if status == 400 else 200), listed.content
