"""What the HTTP fuzzer found, pinned: the OpenAPI document states each rule the server
enforces, and the server refuses with 400 what the document calls invalid."""

import json

import pytest

from customers.models import CustomerRecord
from tests.customers.factories import CreateCustomerFactory, customer_payload

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(scope="module")
def document():
    from django.test import Client

    return Client().get("/api/schema/?format=json", HTTP_ACCEPT="application/json").json()


def refused(response, field: str) -> None:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"], response.json()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("creditLimit", 100),  # a JSON number: floating point before we see it
        ("creditLimit", "1e2"),
        ("creditLimit", " 7.50"),
        ("creditLimit", "-0"),
        ("creditLimit", "\u0667"),  # an Arabic-Indic digit, which Decimal() takes
        ("firstName", "   "),
        ("firstName", "\x01"),
        ("firstName", "Ada\x00"),
        ("firstName", " " + "a" * 100),  # 101 characters as sent, 100 once trimmed
    ],
)
def test_what_the_document_calls_invalid_is_400(api, field, value):
    refused(api.post("/api/customers", customer_payload(**{field: value}), format="json"), field)
    assert CustomerRecord.objects.count() == 0


def test_a_lone_surrogate_is_malformed_json(api):
    raw = json.dumps(customer_payload()).replace('"Ada"', '"\\ud800"')
    response = api.generic("POST", "/api/customers", raw, content_type="application/json")
    assert response.status_code == 400, response.content
    assert CustomerRecord.objects.count() == 0


def test_ids_must_be_canonical_uuids(api):
    body = {"customerId": "e3e70682c2091caca29f6fbed82c07cd", "shippingAddress": {}, "items": []}
    refused(api.post("/api/orders", body, format="json"), "customerId")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "0"}, "page"),
        ({"page": "last"}, "page"),
        ({"pageSize": "0"}, "pageSize"),
        ({"pageSize": "201"}, "pageSize"),
        ({"pageSize": "+5"}, "pageSize"),
        ({"nickname": "Ada"}, "nickname"),
        ({"name": " "}, "name"),
    ],
)
def test_bad_list_parameters_are_400(api, params, field):
    refused(api.get("/api/customers", params), field)


def test_a_saga_age_before_year_one_is_400(api):
    refused(api.get("/api/sagas", {"olderThanSeconds": "1e11"}), "olderThanSeconds")


def test_a_page_past_the_last_is_404(api):
    CreateCustomerFactory.create()
    assert api.get("/api/customers", {"page": 2}).status_code == 404
    assert api.get("/api/customers", {"page": 1, "pageSize": 200}).status_code == 200


def test_the_document_states_the_rules(document):
    schemas = document["components"]["schemas"]
    customer = schemas["CustomerInRequest"]
    assert customer["additionalProperties"] is False
    assert customer["properties"]["creditLimit"]["pattern"] == r"^[0-9]{1,10}(\.[0-9]{1,2})?$"
    assert "pattern" in customer["properties"]["firstName"]
    assert schemas["PatchedCustomerChangesRequest"].get("required") is None
    assert schemas["OrderInRequest"]["properties"]["items"]["uniqueItems"] is True
    update = document["paths"]["/api/customers/{id}"]["put"]
    assert {p["name"] for p in update["parameters"]} >= {"If-Match", "id"}
    assert set(update["responses"]) >= {"200", "400", "401", "404", "409", "412", "428", "503"}
    problem = update["responses"]["412"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/Problem"}
    created = document["paths"]["/api/customers"]["post"]["responses"]["201"]
    assert set(created["headers"]) == {"ETag", "Location"}
    assert created["links"]["customers_update"]["parameters"]["header.If-Match"] == (
        "$response.header.ETag"
    )
