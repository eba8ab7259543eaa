"""The OpenAPI document states the registry's Confluent routes, media types and errors."""

import pytest

from schema_registry.http import CONFLUENT, CONFLUENT_V1

pytestmark = pytest.mark.django_db(databases="__all__")
MEDIA_TYPES = {"application/json", CONFLUENT_V1, CONFLUENT}


@pytest.fixture(scope="module")
def paths(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()["paths"]


def test_every_confluent_operation_is_documented(paths):
    expected = {
        ("get", "/api/schemas/subjects"),
        ("post", "/api/schemas/subjects/{subject}"),
        ("delete", "/api/schemas/subjects/{subject}"),
        ("get", "/api/schemas/subjects/{subject}/versions"),
        ("post", "/api/schemas/subjects/{subject}/versions"),
        ("get", "/api/schemas/subjects/{subject}/versions/{version}"),
        ("delete", "/api/schemas/subjects/{subject}/versions/{version}"),
        ("get", "/api/schemas/ids/{schema_id}"),
        ("get", "/api/schemas/schemas/ids/{schema_id}"),
        ("post", "/api/schemas/compatibility/subjects/{subject}/versions"),
        ("post", "/api/schemas/compatibility/subjects/{subject}/versions/{version}"),
        ("get", "/api/schemas/config"),
        ("put", "/api/schemas/config"),
        ("get", "/api/schemas/config/{subject}"),
        ("put", "/api/schemas/config/{subject}"),
    }
    documented = {(m, p) for p, item in paths.items() for m in item if p.startswith("/api/schemas")}
    assert expected <= documented


def test_bodies_and_answers_list_confluent_media_types_and_errors(paths):
    register = paths["/api/schemas/subjects/{subject}/versions"]["post"]
    assert set(register["requestBody"]["content"]) == MEDIA_TYPES
    assert set(register["responses"]["200"]["content"]) == MEDIA_TYPES
    for status in ("400", "409", "415", "422"):
        assert set(register["responses"][status]["content"]) == {"application/problem+json"}
    lookup = paths["/api/schemas/subjects/{subject}"]["post"]
    assert {p["name"] for p in lookup["parameters"]} >= {"deleted", "normalize"}
    delete = paths["/api/schemas/subjects/{subject}/versions/{version}"]["delete"]
    assert "permanent" in {p["name"] for p in delete["parameters"]}
