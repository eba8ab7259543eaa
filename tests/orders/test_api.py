"""The orders HTTP contract: place, read, list, ship and cancel with ETags."""

import uuid
from decimal import Decimal

import pytest

from edn_core.cqrs import send
from edn_core.testing import EventBus
from orders import commands
from orders.models import OrderEvent, OutboxMessage
from tests.orders.factories import (
    AddressFactory,
    OrderItemFactory,
    PlaceOrderFactory,
    cancel,
    confirm,
    order_payload,
    ship,
    stored_order,
)

pytestmark = pytest.mark.django_db(databases="__all__")

PROBLEM = "application/problem+json"


def snapshot() -> dict:
    """Everything a refused request must leave as it was."""
    return {
        "orders": sorted(
            OrderEvent.objects.values_list("stream_id", "version", "type", "data", "recorded_at")
        ),
        "outbox": OutboxMessage.objects.count(),
    }


def assert_problem(response, status, slug=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if slug:
        assert body["type"] == f"urn:edn:problem:{slug}"
    return body


def url(order, action=""):
    order_id = getattr(order, "id", order)
    return f"/api/orders/{order_id}" + (f"/{action}" if action else "")


def test_api_needs_a_bearer_token(anonymous):
    order = PlaceOrderFactory.create()
    before = snapshot()
    for response in (
        anonymous.get("/api/orders"),
        anonymous.get(url(order)),
        anonymous.post("/api/orders", order_payload(), format="json"),
        anonymous.post(url(order, "ship"), HTTP_IF_MATCH='"1"'),
        anonymous.post(url(order, "cancel"), HTTP_IF_MATCH='"1"'),
    ):
        assert_problem(response, 401)
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert snapshot() == before


def test_place_answers_202_with_location_etag_and_pending_state(api):
    payload = order_payload()
    response = api.post("/api/orders", payload, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == f"/api/orders/{body['id']}"
    assert response["ETag"] == '"1"'
    assert body["state"] == "Pending"  # until the create-order saga confirms or rejects it
    assert body["orderTotal"] == "22.50"
    assert body["rejectionReason"] == ""
    assert body["customerId"] == payload["customerId"]
    assert body["shippingAddress"] == payload["shippingAddress"]
    assert body["items"] == payload["items"]
    row = stored_order(body["id"])
    assert (row.state, row.version, str(row.customer_id)) == ("Pending", 1, payload["customerId"])
    assert len(row.items) == 1
    (event,) = OutboxMessage.objects.all()
    assert (event.topic, event.aggregate_id, event.sequence) == ("v1.OrderPlaced", body["id"], 1)


def test_location_serves_the_placed_order_with_its_etag(api):
    payload = order_payload(
        items=[
            {
                "productId": str(uuid.uuid4()),
                "productName": "A",
                "productPrice": "7.5",
                "quantity": 3,
            },
            {
                "productId": str(uuid.uuid4()),
                "productName": "B",
                "productPrice": "1",
                "quantity": 2,
            },
        ]
    )
    placed = api.post("/api/orders", payload, format="json")
    assert placed.status_code == 202, placed.content
    response = api.get(placed["Location"])
    assert response.status_code == 200
    assert response["ETag"] == placed["ETag"]
    body = response.json()
    assert body == placed.json()
    assert body["orderTotal"] == "24.50"
    assert [i["productPrice"] for i in body["items"]] == ["7.50", "1.00"]


def test_get_returns_etag_and_304_when_unchanged(api):
    order = PlaceOrderFactory.create()
    response = api.get(url(order))
    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    body = response.json()
    assert (body["id"], body["state"], body["orderTotal"]) == (str(order.id), "Pending", "22.50")
    again = api.get(url(order), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert again["ETag"] == '"1"'
    confirm(order)
    changed = api.get(url(order), HTTP_IF_NONE_MATCH='"1"')
    assert changed.status_code == 200
    assert changed["ETag"] == '"2"'
    assert changed.json()["state"] == "Created"


def test_unknown_order_is_404_problem(api):
    assert_problem(api.get(url(uuid.uuid4())), 404)
    assert_problem(api.get("/api/orders/not-a-uuid"), 404)


def listing(api, params=None):
    """GET /api/orders once the orders list (a projection) has caught up with the store."""
    EventBus().project()
    return api.get("/api/orders", params)


def test_list_filters_by_customer(api):
    customer = uuid.uuid4()
    mine = {PlaceOrderFactory.create(customer_id=customer).id for _ in range(2)}
    PlaceOrderFactory.create()
    page = listing(api, {"customerId": str(customer)}).json()
    assert page["count"] == 2
    assert {uuid.UUID(o["id"]) for o in page["results"]} == mine
    assert {o["customerId"] for o in page["results"]} == {str(customer)}
    nobody = listing(api, {"customerId": str(uuid.uuid4())}).json()
    assert (nobody["count"], nobody["results"]) == (0, [])


def test_list_filters_by_state(api):
    pending = PlaceOrderFactory.create()
    created = confirm(PlaceOrderFactory.create())
    shipped = ship(confirm(PlaceOrderFactory.create()))
    cancelled = cancel(PlaceOrderFactory.create())
    for state, order in (
        ("Pending", pending),
        ("Created", created),
        ("Shipped", shipped),
        ("Cancelled", cancelled),
    ):
        results = listing(api, {"state": state}).json()["results"]
        assert [(r["id"], r["state"]) for r in results] == [(str(order.id), state)]
    assert listing(api, {"state": "Rejected"}).json()["count"] == 0


def test_list_combines_customer_and_state(api):
    customer = uuid.uuid4()
    ship(confirm(PlaceOrderFactory.create(customer_id=customer)))
    open_order = confirm(PlaceOrderFactory.create(customer_id=customer))
    ship(confirm(PlaceOrderFactory.create()))
    page = listing(api, {"customerId": str(customer), "state": "Created"}).json()
    assert [r["id"] for r in page["results"]] == [str(open_order.id)]


def test_list_is_paginated(api):
    for _ in range(3):
        PlaceOrderFactory.create()
    response = listing(api, {"pageSize": 2})
    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 3 and len(page["results"]) == 2
    assert page["next"] and page["previous"] is None
    rest = api.get(page["next"]).json()
    assert len(rest["results"]) == 1 and rest["next"] is None and rest["previous"]
    seen = {o["id"] for o in page["results"] + rest["results"]}
    assert len(seen) == 3


def test_list_items_carry_the_read_side_total(api):
    PlaceOrderFactory.create(
        items=[
            OrderItemFactory(product_price=Decimal("7.50"), quantity=3),
            OrderItemFactory(product_price=Decimal("0.99"), quantity=2),
        ]
    )
    (order,) = listing(api).json()["results"]
    assert order["orderTotal"] == "24.48"
    assert [i["quantity"] for i in order["items"]] == [3, 2]


def test_ship_with_current_etag_ships_and_returns_a_new_etag(api):
    order = confirm(PlaceOrderFactory.create())
    response = api.post(url(order, "ship"), HTTP_IF_MATCH='"2"')
    assert response.status_code == 200, response.content
    assert response["ETag"] == '"3"'
    assert response.json()["state"] == "Shipped"
    fresh = api.get(url(order))
    assert fresh.json()["state"] == "Shipped"
    assert fresh["ETag"] == response["ETag"]
    row = stored_order(order.id)
    assert (row.state, row.version) == ("Shipped", 3)
    topics = list(OutboxMessage.objects.values_list("topic", "sequence"))
    assert topics == [("v1.OrderPlaced", 1), ("v1.OrderShipped", 3)]


def test_cancel_with_current_etag_cancels_and_returns_a_new_etag(api):
    order = PlaceOrderFactory.create()
    response = api.post(url(order, "cancel"), HTTP_IF_MATCH='"1"')
    assert response.status_code == 200, response.content
    assert response["ETag"] == '"2"'
    assert response.json()["state"] == "Cancelled"
    assert api.get(url(order))["ETag"] == '"2"'
    row = stored_order(order.id)
    assert (row.state, row.version) == ("Cancelled", 2)
    assert OutboxMessage.objects.filter(topic="v1.OrderCancelled").count() == 1


def test_if_match_star_takes_any_version(api):
    order = PlaceOrderFactory.create()
    response = api.post(url(order, "cancel"), HTTP_IF_MATCH="*")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "Cancelled"


@pytest.mark.parametrize(
    ("first", "then"),
    [(cancel, "ship"), (ship, "cancel"), (ship, "ship"), (cancel, "cancel")],
)
def test_wrong_state_is_409_and_changes_nothing(api, first, then):
    order = first(confirm(PlaceOrderFactory.create()))
    before = snapshot()
    current = f'"{order.version}"'
    body = assert_problem(api.post(url(order, then), HTTP_IF_MATCH=current), 409, "invalid-state")
    assert str(order.id) in body["detail"]
    assert snapshot() == before


@pytest.mark.parametrize("action", ["ship", "cancel"])
def test_stale_etag_is_412_and_changes_nothing(api, action):
    order = PlaceOrderFactory.create(customer_id=uuid.uuid4())
    result = send(commands.ChangeShippingAddresses(addresses={order.customer_id: AddressFactory()}))
    assert result.accepted and result.value == 1
    assert api.get(url(order))["ETag"] == '"2"'
    before = snapshot()
    for stale in ('"1"', '"7"', "yesterday", 'W/"2"'):
        response = api.post(url(order, action), HTTP_IF_MATCH=stale)
        assert_problem(response, 412, "precondition-failed")
    assert snapshot() == before
    assert stored_order(order.id).state == "Pending"


@pytest.mark.parametrize("action", ["ship", "cancel"])
def test_missing_if_match_is_428_and_changes_nothing(api, action):
    order = PlaceOrderFactory.create()
    before = snapshot()
    assert_problem(api.post(url(order, action)), 428, "precondition-required")
    assert_problem(api.post(url(order, action), HTTP_IF_MATCH=""), 428, "precondition-required")
    assert snapshot() == before


@pytest.mark.parametrize("action", ["ship", "cancel"])
def test_unknown_order_is_404_for_transitions(api, action):
    PlaceOrderFactory.create()
    before = snapshot()
    assert_problem(api.post(url(uuid.uuid4(), action), HTTP_IF_MATCH='"1"'), 404, "not-found")
    assert_problem(api.post(f"/api/orders/not-a-uuid/{action}", HTTP_IF_MATCH='"1"'), 404)
    assert snapshot() == before


@pytest.mark.parametrize("action", ["ship", "cancel"])
def test_get_on_a_transition_is_405_with_allow(api, action):
    order = PlaceOrderFactory.create()
    before = snapshot()
    response = api.get(url(order, action))
    assert_problem(response, 405, "method-not-allowed")
    assert response["Allow"] == "OPTIONS, POST"
    assert snapshot() == before


def test_orders_cannot_be_replaced_or_deleted(api):
    order = PlaceOrderFactory.create()
    before = snapshot()
    for response in (
        api.put(url(order), order_payload(), format="json", HTTP_IF_MATCH='"1"'),
        api.delete(url(order), HTTP_IF_MATCH='"1"'),
    ):
        assert_problem(response, 405)
        assert response["Allow"] == "GET, HEAD, OPTIONS"
    assert snapshot() == before
