"""The customers HTTP contract: create, read, list, update, delete with ETags."""

import uuid

import pytest

from customers.models import CustomerRecord
from tests.customers.factories import CreateCustomerFactory, customer_payload

pytestmark = pytest.mark.django_db(databases="__all__")


def test_api_needs_a_bearer_token(anonymous):
    for response in (
        anonymous.get("/api/customers"),
        anonymous.post("/api/customers", customer_payload(), format="json"),
    ):
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert CustomerRecord.objects.count() == 0


def test_a_token_signed_with_another_key_is_refused(anonymous):
    import jwt

    forged = jwt.encode(
        {"user_id": "1", "token_type": "access"},
        "a-different-signing-key-of-forty-bytes-xx",
        algorithm="HS256",
    )
    anonymous.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert anonymous.get("/api/customers").status_code == 401


def test_create_returns_201_location_etag_and_available_credit(api):
    response = api.post("/api/customers", customer_payload(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == f"/api/customers/{body['id']}"
    assert response["ETag"] == '"1"'
    assert body["creditAvailable"] == "100.00"
    assert body["shippingAddress"]["postalCode"] == "SW1Y 4JH"
    row = CustomerRecord.objects.get(pk=body["id"])
    assert (row.first_name, row.version) == ("Ada", 1)


def test_get_returns_etag_and_304_when_unchanged(api):
    customer = CreateCustomerFactory.create()
    response = api.get(f"/api/customers/{customer.id}")
    assert response.status_code == 200
    assert response.json()["firstName"] == customer.first_name
    again = api.get(f"/api/customers/{customer.id}", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_unknown_customer_is_404_problem(api):
    response = api.get(f"/api/customers/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert api.get("/api/customers/not-a-uuid").status_code == 404


def test_list_is_paginated_and_filters_by_name(api):
    CreateCustomerFactory.create(first_name="Grace", last_name="Hopper")
    CreateCustomerFactory.create(first_name="Alan", last_name="Turing")
    CreateCustomerFactory.create(first_name="Ada", last_name="Graceful")
    page = api.get("/api/customers", {"pageSize": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    names = {c["lastName"] for c in api.get("/api/customers", {"name": "grace"}).json()["results"]}
    assert names == {"Hopper", "Graceful"}


def test_put_with_current_etag_updates_and_returns_new_etag(api):
    customer = CreateCustomerFactory.create()
    body = customer_payload(firstName="Augusta", creditLimit="150.00")
    response = api.put(f"/api/customers/{customer.id}", body, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200, response.content
    assert response["ETag"] not in ('"1"', None)
    assert response.json()["creditAvailable"] == "150.00"
    fresh = api.get(f"/api/customers/{customer.id}")
    assert fresh.json()["firstName"] == "Augusta"
    assert fresh["ETag"] == response["ETag"]


def test_put_without_if_match_is_428_and_changes_nothing(api):
    customer = CreateCustomerFactory.create()
    response = api.put(f"/api/customers/{customer.id}", customer_payload(), format="json")
    assert response.status_code == 428
    assert response["Content-Type"] == "application/problem+json"
    assert CustomerRecord.objects.get(pk=customer.id).version == 1


def test_put_with_stale_etag_is_412_and_changes_nothing(api):
    customer = CreateCustomerFactory.create(first_name="Ada")
    url = f"/api/customers/{customer.id}"
    assert (
        api.put(
            url, customer_payload(firstName="B"), format="json", HTTP_IF_MATCH='"1"'
        ).status_code
        == 200
    )
    stale = api.put(url, customer_payload(firstName="C"), format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412
    assert stale.json()["type"] == "urn:edn:problem:precondition-failed"
    assert CustomerRecord.objects.get(pk=customer.id).first_name == "B"


def test_put_unknown_customer_is_404(api):
    response = api.put(
        f"/api/customers/{uuid.uuid4()}", customer_payload(), format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 404


def test_put_that_changes_nothing_keeps_the_etag(api):
    customer = CreateCustomerFactory.create()
    body = {
        "firstName": customer.first_name,
        "lastName": customer.last_name,
        "creditLimit": "100.00",
        "shippingAddress": {
            **customer.shipping_address.__dict__,
            "postalCode": customer.shipping_address.postal_code,
        },
    }
    del body["shippingAddress"]["postal_code"]
    response = api.put(f"/api/customers/{customer.id}", body, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200 and response["ETag"] == '"1"'


def test_patch_merges_address_parts(api):
    customer = CreateCustomerFactory.create()
    response = api.patch(
        f"/api/customers/{customer.id}",
        {"shippingAddress": {"city": "Paris"}},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert response.status_code == 200, response.content
    address = response.json()["shippingAddress"]
    assert address["city"] == "Paris"
    assert address["street"] == customer.shipping_address.street


def test_patch_with_a_blank_address_part_is_400_with_the_field(api):
    customer = CreateCustomerFactory.create()
    response = api.patch(
        f"/api/customers/{customer.id}",
        {"shippingAddress": {"city": ""}},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert response.status_code == 400
    assert "shippingAddress.city" in response.json()["errors"]


def test_delete_needs_if_match_and_then_removes(api):
    customer = CreateCustomerFactory.create()
    url = f"/api/customers/{customer.id}"
    assert api.delete(url).status_code == 428
    assert api.delete(url, HTTP_IF_MATCH='"7"').status_code == 412
    assert api.delete(url, HTTP_IF_MATCH='"1"').status_code == 204
    assert api.get(url).status_code == 404
    assert api.delete(url, HTTP_IF_MATCH='"1"').status_code == 404


def test_unsupported_method_is_405_with_allow(api):
    customer = CreateCustomerFactory.create()
    response = api.post(f"/api/customers/{customer.id}", {}, format="json")
    assert response.status_code == 405
    assert response["Allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"


def test_reserved_credit_shows_in_credit_available(api):
    from decimal import Decimal

    from customers.commands import CreditRequest, ReserveCredits
    from edn_core.cqrs import send

    customer = CreateCustomerFactory.create(credit_limit=Decimal("100.00"))

    def reserve(amount: str, reservation: str):
        request = CreditRequest(
            customer_id=customer.id, amount=Decimal(amount), reservation=reservation
        )
        result = send(ReserveCredits(requests=[request]))
        assert result.accepted
        return result.value[0]

    assert reserve("22.50", "order-1").ok
    assert api.get(f"/api/customers/{customer.id}").json()["creditAvailable"] == "77.50"
    refused = reserve("80.00", "order-2")
    assert not refused.ok and "77.50 credit available" in refused.reason
