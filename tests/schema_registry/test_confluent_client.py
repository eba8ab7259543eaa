"""Confluent's own Python client (confluent-kafka[schemaregistry]) against a live registry.

Each test runs the real ``SchemaRegistryClient`` over HTTP against pytest-django's live
server, with a static bearer token, as a Kafka producer or an operator's script would.
"""

import json

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.schema_registry_client import (
    ConfigCompatibilityLevel,
    ServerConfig,
)

from tests.conftest import bearer_token

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

V1 = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
V2 = {**V1, "properties": {**V1["properties"], "nickname": {"type": "string"}}}
V3_BREAKS = {**V2, "required": ["name", "email"], "properties": {**V2["properties"], "email": {}}}
SUBJECT = "orders-value"


def json_schema(document: dict) -> Schema:
    return Schema(json.dumps(document), schema_type="JSON")


def client_for(live_server, token: str | None = None) -> SchemaRegistryClient:
    """A fresh client (empty caches) configured as the docs show."""
    return SchemaRegistryClient(
        {
            "url": f"{live_server.url}/api/schemas",
            "bearer.auth.credentials.source": "STATIC_TOKEN",
            "bearer.auth.token": token or bearer_token(),
            "bearer.auth.logical.cluster": "edn",  # required by the client, ignored by us
            "max.retries": 0,
        }
    )


@pytest.fixture
def registry(live_server):
    return client_for(live_server)


def refusal(call) -> tuple[int, int]:
    with pytest.raises(SchemaRegistryError) as raised:
        call()
    return raised.value.http_status_code, raised.value.error_code


def test_register_lookup_and_read_back(registry, live_server):
    first = registry.register_schema(SUBJECT, json_schema(V1))
    second = registry.register_schema(SUBJECT, json_schema(V2))
    assert second != first
    assert registry.register_schema("payments-value", json_schema(V1)) == first  # global ids

    fresh = client_for(live_server)  # no cached answers from the registrations above
    found = fresh.lookup_schema(SUBJECT, json_schema(V1))
    assert (found.subject, found.version, found.schema_id) == (SUBJECT, 1, first)
    by_id = fresh.get_schema(first)
    assert (json.loads(by_id.schema_str), by_id.schema_type) == (V1, "JSON")
    latest = fresh.get_latest_version(SUBJECT)
    assert (latest.version, latest.schema_id) == (2, second)
    assert json.loads(latest.schema.schema_str) == V2
    assert fresh.get_version(SUBJECT, 1).schema_id == first
    assert fresh.get_versions(SUBJECT) == [1, 2]
    assert {SUBJECT, "payments-value", "v1.OrderPlaced"} <= set(fresh.get_subjects())
    assert fresh.get_subjects(subject_prefix="pay") == ["payments-value"]


def test_compatibility_against_latest_and_a_numbered_version(registry):
    registry.register_schema(SUBJECT, json_schema(V1))
    assert registry.test_compatibility(SUBJECT, json_schema(V2)) is True
    assert registry.test_compatibility(SUBJECT, json_schema(V3_BREAKS)) is False
    assert registry.test_compatibility(SUBJECT, json_schema(V3_BREAKS), version=1) is False
    assert registry.test_compatibility(SUBJECT, json_schema(V2), version=1) is True
    assert registry.test_compatibility("brand-new-value", json_schema(V3_BREAKS)) is True
    assert registry.get_versions(SUBJECT) == [1]  # checking registers nothing


def test_config_per_subject_and_global(registry):
    registry.register_schema(SUBJECT, json_schema(V1))
    registry.set_config(SUBJECT, ServerConfig(compatibility=ConfigCompatibilityLevel.NONE))
    assert registry.get_config(SUBJECT).compatibility_level is ConfigCompatibilityLevel.NONE
    assert registry.get_compatibility(SUBJECT) == "NONE"
    assert registry.register_schema(SUBJECT, json_schema(V3_BREAKS))  # NONE checks nothing

    assert registry.set_compatibility(level="full") == {"compatibility": "FULL"}
    assert registry.get_config().compatibility_level is ConfigCompatibilityLevel.FULL
    assert registry.get_compatibility() == "FULL"
    assert registry.get_config(SUBJECT).compatibility_level is ConfigCompatibilityLevel.NONE


def test_soft_then_permanent_deletes(registry, live_server):
    first = registry.register_schema(SUBJECT, json_schema(V1))
    only_here = registry.register_schema(SUBJECT, json_schema(V2))
    registry.register_schema("payments-value", json_schema(V1))

    assert refusal(lambda: registry.delete_version(SUBJECT, 2, permanent=True)) == (404, 40407)
    assert registry.delete_version(SUBJECT, 2) == 2
    assert refusal(lambda: registry.delete_version(SUBJECT, 2)) == (404, 40406)
    assert registry.get_versions(SUBJECT) == [1]
    assert registry.get_versions(SUBJECT, deleted=True) == [1, 2]
    assert client_for(live_server).get_schema(only_here).schema_str  # soft: id still readable
    assert registry.delete_version(SUBJECT, 2, permanent=True) == 2
    assert refusal(lambda: client_for(live_server).get_schema(only_here)) == (404, 40403)

    assert refusal(lambda: registry.delete_subject(SUBJECT, permanent=True)) == (404, 40405)
    assert registry.delete_subject(SUBJECT) == [1]
    assert refusal(lambda: registry.delete_subject(SUBJECT)) == (404, 40404)
    assert SUBJECT not in registry.get_subjects()
    assert SUBJECT in registry.get_subjects(deleted=True)
    assert registry.delete_subject(SUBJECT, permanent=True) == [1]
    assert SUBJECT not in registry.get_subjects(deleted=True)
    assert refusal(lambda: registry.get_versions(SUBJECT, deleted=True)) == (404, 40401)
    # The document lives on under the other subject, so its id does too.
    assert json.loads(client_for(live_server).get_schema(first).schema_str) == V1


def test_errors_carry_confluent_status_and_code(registry, live_server):
    registry.register_schema(SUBJECT, json_schema(V1))
    cases = {
        "unknown subject": (lambda: registry.get_latest_version("nope-value"), (404, 40401)),
        "unknown version": (lambda: registry.get_version(SUBJECT, 9), (404, 40402)),
        "unknown id": (lambda: registry.get_schema(987654), (404, 40403)),
        "schema not in subject": (
            lambda: registry.lookup_schema(SUBJECT, json_schema(V2)),
            (404, 40403),
        ),
        "incompatible": (
            lambda: registry.register_schema(SUBJECT, json_schema(V3_BREAKS)),
            (409, 40901),
        ),
        "invalid schema": (
            lambda: registry.register_schema(SUBJECT, json_schema({"type": "no-such-type"})),
            (422, 42201),
        ),
        "not JSON": (
            lambda: registry.register_schema(SUBJECT, Schema("{", schema_type="JSON")),
            (422, 42201),
        ),
        "Avro": (
            lambda: registry.register_schema(SUBJECT, Schema('"string"', schema_type="AVRO")),
            (422, 42201),
        ),
        "invalid version": (lambda: registry.get_version(SUBJECT, 0), (422, 42202)),
        "invalid level": (
            lambda: registry.set_compatibility(SUBJECT, "SOMETIMES"),
            (422, 42203),
        ),
        "bad token": (lambda: client_for(live_server, "x.y.z").get_subjects(), (401, 401)),
    }
    outcomes = {name: refusal(call) for name, (call, _) in cases.items()}
    assert outcomes == {name: expected for name, (_, expected) in cases.items()}
    assert registry.get_versions(SUBJECT) == [1]  # nothing refused was written


def test_a_custom_provider_mints_a_token_per_request(live_server):
    minted = []

    def fresh_token(config: dict) -> dict:
        minted.append(bearer_token(username=config["username"]))
        return {"bearer.auth.token": minted[-1], "bearer.auth.logical.cluster": "edn"}

    client = SchemaRegistryClient(
        {
            "url": f"{live_server.url}/api/schemas",
            "bearer.auth.credentials.source": "CUSTOM",
            "bearer.auth.custom.provider.function": fresh_token,
            "bearer.auth.custom.provider.config": {"username": "producer"},
        }
    )
    assert "v1.OrderPlaced" in client.get_subjects()
    client.register_schema(SUBJECT, json_schema(V1))
    assert len(minted) == 2


def test_unsupported_operations_answer_404_or_405(registry):
    assert refusal(registry.get_schema_types)[0] == 404
    assert refusal(lambda: registry.get_mode(SUBJECT))[0] == 404
    assert refusal(registry.delete_config)[0] == 405
