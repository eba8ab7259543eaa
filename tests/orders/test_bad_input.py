"""Bad input gets a 4xx problem+json with field errors and writes nothing."""

import json
import uuid

import pytest

from orders.models import OrderEvent, OrderView, OutboxMessage
from tests.orders.factories import item_payload, order_payload

pytestmark = pytest.mark.django_db(databases="__all__")


def assert_problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    return body


def assert_nothing_written():
    assert OrderEvent.objects.count() == 0
    assert OrderView.objects.count() == 0
    assert OutboxMessage.objects.count() == 0


def post(api, payload):
    return api.post("/api/orders", payload, format="json")


def post_raw(api, body: bytes | str, content_type="application/json"):
    return api.generic("POST", "/api/orders", body, content_type=content_type)


def with_item(**overrides) -> dict:
    return order_payload(items=[item_payload(**overrides)])


@pytest.mark.parametrize(
    "raw",
    [
        '{"customerId": "',
        "not json",
        "",
        "[1, 2]",
        "null",
        '{"items": [{"productPrice": NaN}]}',
        b"\xff\xfe{}",
    ],
)
def test_malformed_or_non_object_json_is_400(api, raw):
    assert_problem(post_raw(api, raw), 400)
    assert_nothing_written()


def case(name: str, payload: dict, field: str):
    return pytest.param(payload, field, id=name)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        case("customer-not-uuid", order_payload(customerId="not-a-uuid"), "customerId"),
        case("customer-number", order_payload(customerId=42), "customerId"),
        case("customer-bool", order_payload(customerId=True), "customerId"),
        case("customer-null", order_payload(customerId=None), "customerId"),
        case("address-string", order_payload(shippingAddress="Main St"), "shippingAddress"),
        case("items-string", order_payload(items="three widgets"), "items"),
        case("items-object", order_payload(items={"productId": str(uuid.uuid4())}), "items"),
        case("items-empty", order_payload(items=[]), "items"),
        case("items-101", order_payload(items=[item_payload() for _ in range(101)]), "items"),
        case("quantity-str-fraction", with_item(quantity="3.5"), "items[0].quantity"),
        case("quantity-fraction", with_item(quantity=3.5), "items[0].quantity"),
        case("quantity-zero", with_item(quantity=0), "items[0].quantity"),
        case("quantity-negative", with_item(quantity=-1), "items[0].quantity"),
        case("quantity-bool", with_item(quantity=True), "items[0].quantity"),
        case("price-abc", with_item(productPrice="abc"), "items[0].productPrice"),
        case("price-negative-str", with_item(productPrice="-0.01"), "items[0].productPrice"),
        case("price-negative", with_item(productPrice=-5), "items[0].productPrice"),
        case("price-3-decimals", with_item(productPrice="7.505"), "items[0].productPrice"),
        case("price-bool", with_item(productPrice=True), "items[0].productPrice"),
        case("product-not-uuid", with_item(productId="widget-1"), "items[0].productId"),
        case("product-number", with_item(productId=7), "items[0].productId"),
        case("product-bool", with_item(productId=True), "items[0].productId"),
        case("name-blank", with_item(productName=""), "items[0].productName"),
        case("name-number", with_item(productName=42), "items[0].productName"),
        case("name-too-long", with_item(productName="x" * 201), "items[0].productName"),
        case(
            "second-line",
            order_payload(items=[item_payload(), item_payload(quantity=0)]),
            "items[1].quantity",
        ),
    ],
)
def test_wrong_types_and_values_name_the_field(api, payload, field):
    body = assert_problem(post(api, payload), 400)
    assert field in body["errors"], body
    assert_nothing_written()


def test_unknown_fields_are_refused_at_every_level(api):
    payload = order_payload(coupon="FREE", items=[item_payload(discount="10%")])
    payload["shippingAddress"] = {**payload["shippingAddress"], "planet": "Earth"}
    body = assert_problem(post(api, payload), 400)
    assert {"coupon", "items[0].discount", "shippingAddress.planet"} <= set(body["errors"]), body
    assert_nothing_written()


@pytest.mark.parametrize("part", ["street", "city", "state", "country", "postalCode"])
def test_missing_address_part_is_400(api, part):
    payload = order_payload()
    del payload["shippingAddress"][part]
    body = assert_problem(post(api, payload), 400)
    assert f"shippingAddress.{part}" in body["errors"]
    assert_nothing_written()


@pytest.mark.parametrize("part", ["street", "city", "state", "country", "postalCode"])
def test_blank_address_part_is_400(api, part):
    payload = order_payload()
    payload["shippingAddress"][part] = "   "
    body = assert_problem(post(api, payload), 400)
    assert f"shippingAddress.{part}" in body["errors"]
    assert_nothing_written()


def test_missing_required_fields_are_all_listed(api):
    body = assert_problem(post(api, {}), 400)
    assert set(body["errors"]) == {"customerId", "shippingAddress", "items"}
    assert_nothing_written()


def test_missing_item_fields_are_all_listed(api):
    body = assert_problem(post(api, order_payload(items=[{}])), 400)
    expected = {f"items[0].{name}" for name in ("productId", "productName", "productPrice")}
    assert expected | {"items[0].quantity"} == set(body["errors"]), body
    assert_nothing_written()


def test_two_lines_of_one_product_are_400(api):
    product = str(uuid.uuid4())
    payload = order_payload(
        items=[item_payload(productId=product), item_payload(productId=product, quantity=1)]
    )
    body = assert_problem(post(api, payload), 400)
    assert "items" in body["errors"]
    assert_nothing_written()


def test_a_hundred_lines_are_accepted(api):
    response = post(api, order_payload(items=[item_payload(quantity=1) for _ in range(100)]))
    assert response.status_code == 202, response.content
    assert response.json()["orderTotal"] == "750.00"


def test_the_largest_line_the_input_allows_never_breaks_the_api(api):
    """Price and quantity within their limits must give a total the API can answer."""
    response = post(api, with_item(productPrice="9999999999.99", quantity=100_000))
    assert response.status_code in (202, 400), response.content
    if response.status_code == 202:
        assert response.json()["orderTotal"] == "999999999999000.00"
        assert api.get(response["Location"]).status_code == 200
    else:
        assert_problem(response, 400)
        assert_nothing_written()
    assert api.get("/api/orders").status_code == 200


def test_two_megabyte_body_is_413(api):
    payload = with_item(productName="x" * (2 * 1024 * 1024))
    assert_problem(post_raw(api, json.dumps(payload)), 413)
    assert_nothing_written()


def test_non_json_content_type_is_415(api):
    assert_problem(post_raw(api, "customerId=1", "application/x-www-form-urlencoded"), 415)
    assert_nothing_written()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"customerId": "not-a-uuid"}, "customerId"),
        ({"state": "Lost"}, "state"),
        ({"pageSize": "many"}, "pageSize"),
    ],
)
def test_bad_list_filters_are_400(api, params, field):
    body = assert_problem(api.get("/api/orders", params), 400)
    assert field in body["errors"], body
