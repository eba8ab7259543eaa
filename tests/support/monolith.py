"""The deployment the fault and broker-resilience tests run: one service process hosting
customers, orders and the registry, with customers who each have one open order to move."""

from __future__ import annotations

import httpx

from tests.support.deployment import Deployment

MONOLITH = {"app": ["customers", "orders", "schema_registry"]}
ADDRESS = {"street": "0 Lane", "city": "C", "state": "S", "country": "X", "postalCode": "1"}
PRODUCT = "8a0e3b9c-6c5e-4b7a-9f55-2f0f7c1d1a01"


def prepare(deployment: Deployment, *, token_for: str | None = None, then: str = "") -> str:
    """Create the tables (``migrate_all`` registers the schemas too, the registry being hosted
    here; ``edn_schemas register`` again is a no-op kept as the deployment's own step), declare
    the queues, then run the Python code ``then`` -- all in one process. With ``token_for``,
    mint that user's bearer token there too and return it."""
    commands = [["migrate_all"], ["edn_schemas", "register"], ["edn_broker"]]
    if token_for:
        commands.append(["edn_token", token_for])
    out = deployment.manage_many("app", *commands, then=then)
    return out.strip().splitlines()[-1] if token_for else ""


def token(deployment: Deployment, username: str) -> str:
    return deployment.manage("app", "edn_token", username).strip().splitlines()[-1]


def customer_with_order(api: httpx.Client, n: int) -> dict:
    """Create customer ``n`` at :data:`ADDRESS` with one open order; return what a test moves:
    the customer's ``url`` and ``etag``, the order's url (``order``) and the ``street``."""
    created = api.post(
        "/api/customers",
        json={
            "firstName": f"C{n}",
            "lastName": "Load",
            "creditLimit": "10.00",
            "shippingAddress": ADDRESS,
        },
    )
    assert created.status_code == 201, created.text
    line = {"productId": PRODUCT, "productName": "W", "productPrice": "1.00", "quantity": 1}
    order = api.post(
        "/api/orders",
        json={"customerId": created.json()["id"], "shippingAddress": ADDRESS, "items": [line]},
    )
    assert order.status_code == 202, order.text
    return {
        "url": created.headers["Location"],
        "etag": created.headers["ETag"],
        "order": order.headers["Location"],
        "street": ADDRESS["street"],
    }
