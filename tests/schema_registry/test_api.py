"""The registry's REST API, Confluent style."""

import json

import pytest

pytestmark = pytest.mark.django_db(databases="__all__")
BASE = "/api/schemas"

V1 = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
V2_OPTIONAL = {**V1, "properties": {**V1["properties"], "nickname": {"type": "string"}}}
V3_REQUIRED = {
    **V2_OPTIONAL,
    "required": ["name", "email"],
    "properties": {**V2_OPTIONAL["properties"], "email": {"type": "string"}},
}


def register(api, subject, schema, as_string=True):
    body = {"schema": json.dumps(schema) if as_string else schema, "schemaType": "JSON"}
    return api.post(f"{BASE}/subjects/{subject}/versions", body, format="json")


def test_register_list_and_read_versions(api):
    first = register(api, "v1.Thing", V1)
    assert first.status_code == 200, first.content
    second = register(api, "v1.Thing", V2_OPTIONAL, as_string=False)
    assert second.status_code == 200 and second.json()["id"] != first.json()["id"]
    assert "v1.Thing" in api.get(f"{BASE}/subjects").json()
    assert api.get(f"{BASE}/subjects/v1.Thing/versions").json() == [1, 2]
    latest = api.get(f"{BASE}/subjects/v1.Thing/versions/latest").json()
    assert (latest["version"], latest["id"], latest["schemaType"]) == (
        2,
        second.json()["id"],
        "JSON",
    )
    assert json.loads(latest["schema"]) == V2_OPTIONAL
    one = api.get(f"{BASE}/subjects/v1.Thing/versions/1").json()
    assert json.loads(one["schema"]) == V1
    by_id = api.get(f"{BASE}/ids/{first.json()['id']}").json()
    assert json.loads(by_id["schema"]) == V1


def test_registering_the_same_schema_again_returns_the_same_id(api):
    first = register(api, "v1.Thing", V1).json()["id"]
    assert register(api, "v1.Thing", V1).json()["id"] == first
    assert api.get(f"{BASE}/subjects/v1.Thing/versions").json() == [1]


def test_the_same_document_shares_its_id_across_subjects(api):
    assert register(api, "v1.A", V1).json() == register(api, "v1.B", V1).json()


def test_incompatible_version_is_409_with_reasons(api):
    register(api, "v1.Thing", V1)
    refused = register(api, "v1.Thing", V3_REQUIRED)
    assert refused.status_code == 409
    body = refused.json()
    assert body["error_code"] == body["errorCode"] == 40901  # Confluent's code since 7.x
    assert body["message"] == body["detail"]
    assert body["messages"] and any("email" in message for message in body["messages"])
    assert api.get(f"{BASE}/subjects/v1.Thing/versions").json() == [1]


@pytest.mark.parametrize(
    "schema",
    [{"title": "a\x00b"}, {"properties": {"a\x00": {}}}, {"enum": [1, ["\x00"]]}],
    ids=["value", "key", "nested"],
)
def test_a_schema_holding_u0000_is_422_not_500(api, schema):
    """PostgreSQL's jsonb cannot store U+0000 (found by the schemathesis run)."""
    for as_string in (True, False):
        response = register(api, "v1.Thing", schema, as_string=as_string)
        assert response.status_code == 422, response.content
        assert response.json()["error_code"] == 42201 and "U+0000" in response.json()["detail"]
    assert "v1.Thing" not in api.get(f"{BASE}/subjects").json()


def test_invalid_schema_is_422(api):
    response = register(api, "v1.Thing", {"type": "no-such-type"})
    assert response.status_code == 422 and response.json()["errorCode"] == 42201
    assert register(api, "v1.Thing", "not json at all", as_string=False).status_code == 422
    not_json = api.post(f"{BASE}/subjects/v1.Thing/versions", {"schema": "{"}, format="json")
    assert not_json.status_code == 422 and not_json.json()["error_code"] == 42201
    no_schema = api.post(f"{BASE}/subjects/v1.Thing/versions", {}, format="json")
    assert no_schema.status_code == 400 and no_schema.json()["error_code"] == 400
    assert "v1.Thing" not in api.get(f"{BASE}/subjects").json()  # nothing was registered


def test_unknown_subject_version_or_id_is_404_with_confluent_codes(api):
    assert api.get(f"{BASE}/subjects/v1.Nope/versions").json()["errorCode"] == 40401
    register(api, "v1.Thing", V1)
    missing = api.get(f"{BASE}/subjects/v1.Thing/versions/7")
    assert missing.status_code == 404 and missing.json()["errorCode"] == 40402
    assert api.get(f"{BASE}/ids/999999").json()["errorCode"] == 40403
    invalid = api.get(f"{BASE}/subjects/v1.Thing/versions/zero")
    assert invalid.status_code == 422 and invalid.json()["error_code"] == 42202


def test_compatibility_endpoint_registers_nothing(api):
    register(api, "v1.Thing", V1)
    url = f"{BASE}/compatibility/subjects/v1.Thing/versions/latest"
    ok = api.post(url, {"schema": json.dumps(V2_OPTIONAL)}, format="json").json()
    assert ok == {"is_compatible": True, "isCompatible": True, "messages": []}
    bad = api.post(url, {"schema": json.dumps(V3_REQUIRED)}, format="json").json()
    assert bad["is_compatible"] is bad["isCompatible"] is False and bad["messages"]
    assert api.get(f"{BASE}/subjects/v1.Thing/versions").json() == [1]


def test_compatibility_messages_name_the_registered_version_compared(api):
    """Against version 2, or after version 1 was deleted, a message names the version's own
    number, not its place in the list the checker was given."""
    register(api, "v1.Thing", V1)
    register(api, "v1.Thing", V2_OPTIONAL)
    url = f"{BASE}/compatibility/subjects/v1.Thing/versions"
    against_2 = api.post(f"{url}/2", {"schema": json.dumps(V3_REQUIRED)}, format="json").json()
    assert against_2["messages"] and all("vs version 2:" in m for m in against_2["messages"])
    assert api.delete(f"{BASE}/subjects/v1.Thing/versions/1").status_code == 200
    against_all = api.post(url, {"schema": json.dumps(V3_REQUIRED)}, format="json").json()
    assert against_all["messages"] and all("vs version 2:" in m for m in against_all["messages"])
    refused = register(api, "v1.Thing", V3_REQUIRED)
    assert refused.status_code == 409 and "vs version 2:" in refused.json()["message"]


def test_config_per_subject_and_global(api):
    both = {"compatibilityLevel": "BACKWARD", "compatibility": "BACKWARD"}
    assert api.get(f"{BASE}/config").json() == both
    register(api, "v1.Thing", V1)
    assert api.put(f"{BASE}/config/v1.Thing", {"compatibility": "NONE"}, format="json").json() == {
        "compatibility": "NONE"
    }
    assert api.get(f"{BASE}/config/v1.Thing").json()["compatibility"] == "NONE"
    assert register(api, "v1.Thing", V3_REQUIRED).status_code == 200  # NONE checks nothing
    assert api.put(f"{BASE}/config", {"compatibility": "FULL"}, format="json").status_code == 200
    assert api.get(f"{BASE}/config").json()["compatibilityLevel"] == "FULL"
    unknown = api.put(f"{BASE}/config", {"compatibility": "SOMETIMES"}, format="json")
    assert unknown.status_code == 422 and unknown.json()["error_code"] == 42203


def test_soft_delete_hides_versions_but_keeps_ids(api):
    first = register(api, "v1.Thing", V1).json()["id"]
    register(api, "v1.Thing", V2_OPTIONAL)
    assert api.delete(f"{BASE}/subjects/v1.Thing/versions/2").json() == 2
    assert api.get(f"{BASE}/subjects/v1.Thing/versions").json() == [1]
    assert api.delete(f"{BASE}/subjects/v1.Thing/versions/2").status_code == 404
    assert api.delete(f"{BASE}/subjects/v1.Thing").json() == [1]
    assert "v1.Thing" not in api.get(f"{BASE}/subjects").json()
    assert api.get(f"{BASE}/ids/{first}").status_code == 200


def test_registry_api_needs_a_token(anonymous):
    assert anonymous.get(f"{BASE}/subjects").status_code == 401


def test_app_schemas_are_registered_for_every_test(api):
    subjects = api.get(f"{BASE}/subjects").json()
    assert {
        "v1.CustomerAddressUpdated",
        "v1.OrderPlaced",
        "v1.OrderShipped",
        "v1.OrderCancelled",
    } <= set(subjects)
