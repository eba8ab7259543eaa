"""/api/asyncapi.json is a valid AsyncAPI 3.0 document that tells who publishes and who
subscribes to what."""

import json
import os
from pathlib import Path

import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from tests.conftest import REQUIRE_SERVICES

pytestmark = pytest.mark.django_db(databases="__all__")
SPEC = Path(
    os.environ.get(
        "EDN_ASYNCAPI_SPEC",
        Path(__file__).resolve().parent.parent / ".cache/asyncapi-specs/package/schemas/3.0.0.json",
    )
)


def asyncapi_validator() -> Draft7Validator:
    if not SPEC.exists():
        reason = f"the AsyncAPI 3.0 JSON Schema is not at {SPEC} (scripts/test fetches it)"
        if REQUIRE_SERVICES:
            pytest.fail(f"EDN_REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)
    schema = json.loads(SPEC.read_text())
    registry = Registry().with_resources(
        (d["$id"], Resource.from_contents(d, default_specification=DRAFT7))
        for d in _embedded(schema)
    )
    return Draft7Validator(schema, registry=registry)


def _embedded(node):
    """Every sub-schema carrying its own ``$id`` (the spec bundles its definitions so)."""
    if isinstance(node, dict):
        if isinstance(node.get("$id"), str):
            yield node
        for value in node.values():
            yield from _embedded(value)
    elif isinstance(node, list):
        for value in node:
            yield from _embedded(value)


def test_document_is_valid_asyncapi_3(anonymous):
    response = anonymous.get("/api/asyncapi.json")
    assert response.status_code == 200
    errors = sorted(asyncapi_validator().iter_errors(response.json()), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


def test_channels_messages_publishers_and_subscribers(anonymous):
    document = anonymous.get("/api/asyncapi.json").json()
    topic = "v1.CustomerAddressUpdated"
    assert document["channels"][topic]["address"] == topic
    message = document["components"]["messages"][topic]
    assert message["payload"]["schema"]["required"] == ["customerId", "shippingAddress"]
    assert message["x-edn-dataschema"].startswith(f"urn:edn:schema:{topic}:")
    send = document["operations"][f"customers.publish.{topic}"]
    assert (send["action"], send["x-edn-app"]) == ("send", "customers")
    receive = document["operations"]["orders.update_shipping_address_of_open_orders"]
    assert receive == {
        **receive,
        "action": "receive",
        "x-edn-app": "orders",
        "channel": {"$ref": f"#/channels/{topic}"},
    }
    assert {"v1.OrderPlaced", "v1.OrderShipped", "v1.OrderCancelled"} <= set(document["channels"])


def test_a_broken_document_would_be_caught(anonymous):
    document = anonymous.get("/api/asyncapi.json").json()
    document["operations"]["bogus"] = {"action": "publish", "channel": {"$ref": "#/x"}}
    assert list(asyncapi_validator().iter_errors(document))
