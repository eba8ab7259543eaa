"""Bad input gets a 4xx problem+json with field errors and writes nothing."""

import json
import uuid

import pytest

from customers.models import CustomerRecord
from tests.customers.factories import CreateCustomerFactory, customer_payload

pytestmark = pytest.mark.django_db(databases="__all__")


def assert_problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    return body


def post_raw(api, body: bytes | str, content_type="application/json"):
    return api.generic("POST", "/api/customers", body, content_type=content_type)


@pytest.mark.parametrize(
    "raw",
    [
        '{"firstName": "Ada",',
        "not json",
        "",
        "[1, 2]",
        "null",
        '{"creditLimit": NaN}',
        b"\xff\xfe{}",
    ],
)
def test_malformed_or_non_object_json_is_400(api, raw):
    assert_problem(post_raw(api, raw), 400)
    assert CustomerRecord.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"firstName": 42}, "firstName"),
        ({"lastName": ["x"]}, "lastName"),
        ({"creditLimit": "lots"}, "creditLimit"),
        ({"creditLimit": True}, "creditLimit"),
        ({"creditLimit": "1.234"}, "creditLimit"),
        ({"creditLimit": "-0.01"}, "creditLimit"),
        ({"creditLimit": -5}, "creditLimit"),
        ({"shippingAddress": "Main St"}, "shippingAddress"),
        ({"firstName": ""}, "firstName"),
        ({"firstName": "x" * 101}, "firstName"),
    ],
)
def test_wrong_types_and_values_name_the_field(api, overrides, field):
    body = assert_problem(
        api.post("/api/customers", customer_payload(**overrides), format="json"), 400
    )
    assert any(path.startswith(field) for path in body["errors"]), body
    assert CustomerRecord.objects.count() == 0


def test_unknown_fields_are_refused_at_every_level_with_other_errors(api):
    payload = customer_payload(nickname="Countess", creditLimit=-1)
    payload["shippingAddress"] = {**payload["shippingAddress"], "planet": "Earth"}
    body = assert_problem(api.post("/api/customers", payload, format="json"), 400)
    assert {"nickname", "shippingAddress.planet", "creditLimit"} <= set(body["errors"])
    assert CustomerRecord.objects.count() == 0


@pytest.mark.parametrize("part", ["street", "city", "state", "country", "postalCode"])
def test_missing_address_part_is_400(api, part):
    payload = customer_payload()
    del payload["shippingAddress"][part]
    body = assert_problem(api.post("/api/customers", payload, format="json"), 400)
    assert f"shippingAddress.{part}" in body["errors"]
    assert CustomerRecord.objects.count() == 0


def test_missing_required_fields_are_all_listed(api):
    body = assert_problem(api.post("/api/customers", {}, format="json"), 400)
    assert set(body["errors"]) == {"firstName", "lastName", "shippingAddress", "creditLimit"}


def test_two_megabyte_body_is_413(api):
    payload = customer_payload(firstName="x" * (2 * 1024 * 1024))
    assert_problem(post_raw(api, json.dumps(payload)), 413)
    assert CustomerRecord.objects.count() == 0


def test_parser_bounds_bodies_that_declare_no_length(settings):
    from io import BytesIO
    from types import SimpleNamespace

    from edn_core.cqrs.parsers import BoundedJSONParser
    from edn_core.cqrs.problems import RequestTooLarge

    chunked = SimpleNamespace(META={})  # a chunked upload carries no Content-Length
    big = BytesIO(b'{"a": "' + b"x" * settings.EDN_MAX_BODY_BYTES + b'"}')
    with pytest.raises(RequestTooLarge):
        BoundedJSONParser().parse(big, parser_context={"request": chunked})
    small = BoundedJSONParser().parse(BytesIO(b'{"a": 1}'), parser_context={"request": chunked})
    assert small == {"a": 1}


def test_non_json_content_type_is_415(api):
    assert_problem(post_raw(api, "firstName=Ada", "application/x-www-form-urlencoded"), 415)
    assert CustomerRecord.objects.count() == 0


def test_bad_update_changes_nothing(api):
    customer = CreateCustomerFactory.create(first_name="Ada")
    url = f"/api/customers/{customer.id}"
    assert_problem(
        api.put(url, customer_payload(creditLimit=-1), format="json", HTTP_IF_MATCH='"1"'), 400
    )
    assert_problem(
        api.generic("PUT", url, "{broken", content_type="application/json", HTTP_IF_MATCH='"1"'),
        400,
    )
    assert_problem(api.put(url, customer_payload(), format="json", HTTP_IF_MATCH="yesterday"), 412)
    row = CustomerRecord.objects.get(pk=customer.id)
    assert (row.first_name, row.version) == ("Ada", 1)


def test_limit_below_reserved_credit_is_409_and_changes_nothing(api):
    customer = CreateCustomerFactory.create()
    CustomerRecord.objects.filter(pk=customer.id).update(credit_reserved=80)
    response = api.patch(
        f"/api/customers/{customer.id}",
        {"creditLimit": "50.00"},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    body = assert_problem(response, 409)
    assert "reserved credit" in body["detail"]
    assert CustomerRecord.objects.get(pk=customer.id).credit_limit == 100


def test_delete_with_reserved_credit_is_409(api):
    customer = CreateCustomerFactory.create()
    CustomerRecord.objects.filter(pk=customer.id).update(credit_reserved=1)
    assert_problem(api.delete(f"/api/customers/{customer.id}", HTTP_IF_MATCH='"1"'), 409)
    assert CustomerRecord.objects.filter(pk=customer.id).exists()


def test_unknown_route_is_404_problem(api):
    assert_problem(api.get(f"/api/nothing/{uuid.uuid4()}"), 404)


def test_a_body_nested_past_the_parsers_depth_is_400_not_500(api):
    body = "[" * 100_000 + "]" * 100_000  # under the size limit
    response = api.generic("POST", "/api/customers", body, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "nested too deeply" in response.json()["detail"]
