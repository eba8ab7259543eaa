"""The registry refuses schemas larger than its limits (EDN_SCHEMA_MAX_BYTES, _DEPTH,
_SUBSCHEMAS) with 422 / 42201 before any costly check, on every route that compiles one, and
stores nothing; a schema at a limit is taken."""

import json

import pytest

from schema_registry.models import SchemaVersion, Subject
from tests.support.staff import staff_client

pytestmark = pytest.mark.django_db(databases="__all__")
BASE = "/api/schemas"
SUBJECT = "v1.Limits.Thing"


def wide(subschemas: int) -> dict:
    """An object schema holding ``subschemas`` subschemas: itself, ``properties``, and one
    per property."""
    return {"type": "object", "properties": {f"p{i}": {} for i in range(subschemas - 2)}}


def deep(levels: int) -> dict:
    """A schema nesting ``levels`` levels of objects and arrays (a property: two)."""
    schema: dict = {"type": "string"} if levels % 2 else {"enum": ["x"]}
    for _ in range((levels - 1) // 2):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


def size(schema: dict) -> int:
    return len(json.dumps(schema, separators=(",", ":")).encode())


def register(api, schema: dict, subject: str = SUBJECT, indent: int | None = 4):
    body = {"schema": json.dumps(schema, indent=indent)}  # as text; spaces do not count
    return api.post(f"{BASE}/subjects/{subject}/versions", body, format="json")


def assert_refused(response, setting: str) -> None:
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (body["error_code"], body["type"]) == (42201, "urn:edn:problem:invalid-schema")
    assert setting in body["detail"] and body["message"] == body["detail"]


def assert_nothing_stored(api, subject: str = SUBJECT) -> None:
    assert api.get(f"{BASE}/subjects/{subject}/versions").status_code == 404
    assert not SchemaVersion.objects.filter(subject__name=subject).exists()


@pytest.mark.parametrize(
    ("setting", "schema", "limit"),
    [
        ("EDN_SCHEMA_MAX_SUBSCHEMAS", wide(20), 20),
        ("EDN_SCHEMA_MAX_DEPTH", deep(6), 6),
        ("EDN_SCHEMA_MAX_DEPTH", deep(7), 7),
        ("EDN_SCHEMA_MAX_BYTES", wide(20), size(wide(20))),
    ],
    ids=["subschemas", "depth-even", "depth-odd", "bytes"],
)
def test_a_schema_at_a_limit_is_registered_and_one_beyond_is_422(
    api, settings, setting, schema, limit
):
    setattr(settings, setting, limit)
    assert register(api, schema).status_code == 200
    setattr(settings, setting, limit - 1)
    assert_refused(register(api, schema, f"{SUBJECT}.2"), setting)
    assert_nothing_stored(api, f"{SUBJECT}.2")


def test_the_message_names_the_limit_and_the_schemas_figure(api, settings):
    settings.EDN_SCHEMA_MAX_SUBSCHEMAS = 10
    detail = register(api, wide(12)).json()["detail"]
    assert "at most 10 subschemas" in detail and "holds 12" in detail
    settings.EDN_SCHEMA_MAX_BYTES = 50
    detail = register(api, wide(9)).json()["detail"]
    assert "at most 50 bytes" in detail and f"is {size(wide(9))}" in detail


def test_a_schema_of_5000_properties_is_refused_by_default(api):
    schema = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(5000)}}
    assert_refused(register(api, schema, indent=None), "EDN_SCHEMA_MAX_SUBSCHEMAS")
    assert_nothing_stored(api)


def test_compatibility_checks_and_lookups_apply_the_limits(api, settings):
    settings.EDN_SCHEMA_MAX_SUBSCHEMAS = 10
    body = {"schema": json.dumps(wide(11))}
    for url in (
        f"{BASE}/compatibility/subjects/v1.OrderPlaced/versions/latest",
        f"{BASE}/compatibility/subjects/v1.OrderPlaced/versions/1",
        f"{BASE}/compatibility/subjects/v1.OrderPlaced/versions",
        f"{BASE}/subjects/v1.OrderPlaced",
    ):
        assert_refused(api.post(url, body, format="json"), "EDN_SCHEMA_MAX_SUBSCHEMAS")


def test_the_admins_register_page_applies_the_limits(api, settings):
    assert register(api, wide(5)).status_code == 200
    subject = Subject.objects.get(name=SUBJECT)
    settings.EDN_SCHEMA_MAX_SUBSCHEMAS = 10
    client = staff_client("schema_registry.view_subject", "schema_registry.add_schemaversion")
    url = f"/admin/schema_registry/subject/{subject.pk}/register/"
    page = client.post(url, {"document": json.dumps(wide(11))})
    assert page.status_code == 200
    assert "EDN_SCHEMA_MAX_SUBSCHEMAS" in page.content.decode()
    assert SchemaVersion.objects.filter(subject=subject).count() == 1
