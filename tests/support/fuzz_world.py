"""Resources for the HTTP fuzzer to aim at, made through the API as a client would."""

from __future__ import annotations

from rest_framework.test import APIClient

from edn_core.bus.relay import drain
from edn_core.bus.stores import all_stores
from edn_core.testing import EventBus
from tests.conftest import bearer_token

ADDRESS = {
    "street": "1 Main St",
    "city": "Springfield",
    "state": "IL",
    "country": "US",
    "postalCode": "62701",
}


def _created(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return response.json()


def _place(api: APIClient, customer: dict, product: dict) -> dict:
    line = {
        "productId": product["id"],
        "productName": product["description"],
        "productPrice": "2.50",
        "quantity": 2,
    }
    body = {"customerId": customer["id"], "shippingAddress": ADDRESS, "items": [line]}
    return _created(api.post("/api/orders", body, format="json"), 202)


def build_world() -> dict[str, list[str]]:
    """Make a customer, a product, a Created order with its finished saga and a Pending
    order whose saga is still executing; return their ids by service."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer_token()}")
    customer = _created(
        api.post(
            "/api/customers",
            {
                "firstName": "Ada",
                "lastName": "Lovelace",
                "shippingAddress": ADDRESS,
                "creditLimit": "1000.00",
            },
            format="json",
        ),
        201,
    )
    product = _created(
        api.post(
            "/api/inventory", {"description": "Widget", "amountAvailable": 500}, format="json"
        ),
        201,
    )
    created = _place(api, customer, product)
    EventBus().run_until_quiet()
    pending = _place(api, customer, product)
    orders_store = next(store for store in all_stores() if store.app_label == "orders")
    drain(orders_store)  # the saga starts and asks for credit; nothing answers it yet
    sagas = api.get("/api/sagas").json()["results"]
    return {
        "customers": [customer["id"]],
        "inventory": [product["id"]],
        "orders": [created["id"], pending["id"]],
        "sagas": [saga["id"] for saga in sagas],
    }
