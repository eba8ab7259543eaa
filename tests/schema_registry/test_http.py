"""The registry's HTTP surface: Confluent's media types, error members, and hostile input."""

import json

import pytest
from django.db import OperationalError

from schema_registry import queries
from schema_registry.http import CONFLUENT, CONFLUENT_V1

pytestmark = pytest.mark.django_db(databases="__all__")
BASE = "/api/schemas"
V1 = {"type": "object", "properties": {"name": {"type": "string"}}}
CONFLUENT_ACCEPT = f"{CONFLUENT_V1}, {CONFLUENT}, application/json"  # what the client sends


def post_raw(api, url, body, content_type, **headers):
    return api.generic("POST", url, body, content_type=content_type, **headers)


@pytest.mark.parametrize("content_type", [CONFLUENT_V1, CONFLUENT, "application/json"])
def test_bodies_are_taken_in_each_media_type(api, content_type):
    body = json.dumps({"schema": json.dumps(V1), "schemaType": "JSON", "references": []})
    response = post_raw(api, f"{BASE}/subjects/v1.Thing/versions", body, content_type)
    assert response.status_code == 200, response.content
    assert post_raw(api, f"{BASE}/subjects/v1.Thing", body, content_type).json()["version"] == 1


def test_other_media_types_are_415_with_confluent_members(api):
    response = post_raw(api, f"{BASE}/subjects/v1.Thing/versions", "schema=x", "text/plain")
    assert response.status_code == 415
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (body["error_code"], body["message"]) == (415, body["detail"])


def test_confluent_media_types_keep_the_strict_bounded_parsing(api, settings):
    url = f"{BASE}/subjects/v1.Thing/versions"
    nan = post_raw(api, url, '{"schema": NaN}', CONFLUENT_V1)
    assert nan.status_code == 400 and nan.json()["error_code"] == 400
    settings.EDN_MAX_BODY_BYTES = 64
    big = post_raw(api, url, json.dumps({"schema": "x" * 100}), CONFLUENT)
    assert big.status_code == 413


@pytest.mark.parametrize(
    ("accept", "answered"),
    [
        (CONFLUENT_ACCEPT, CONFLUENT_V1),
        (CONFLUENT, CONFLUENT),
        (f"application/json, {CONFLUENT_V1}", "application/json"),
        (f"{CONFLUENT_V1};q=0.5, application/json", "application/json"),
        ("application/json; charset=utf-8", "application/json"),
        ("*/*", "application/json"),
        (None, "application/json"),
    ],
)
def test_answers_in_the_media_type_the_client_prefers(api, accept, answered):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    response = api.get(f"{BASE}/subjects", **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == answered
    assert "v1.OrderPlaced" in json.loads(response.content)


def test_errors_stay_problem_json_whatever_the_accept(api):
    response = api.get(f"{BASE}/subjects/nope/versions", HTTP_ACCEPT=CONFLUENT_V1)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["type"] == "urn:edn:problem:not-found"
    assert (body["error_code"], body["errorCode"], body["message"]) == (
        40401,
        40401,
        body["detail"],
    )


def test_an_unacceptable_accept_is_406(api):
    response = api.get(f"{BASE}/subjects", HTTP_ACCEPT="text/html")
    assert response.status_code == 406 and response.json()["error_code"] == 406


def test_a_failing_store_is_503_with_code_50001(api, monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(queries, "subjects", broken)
    response = api.get(f"{BASE}/subjects")
    assert response.status_code == 503 and response["Retry-After"]
    assert response.json()["error_code"] == 50001
    assert "connection refused" not in response.json()["detail"]  # never the driver's words


def test_hostile_paths_and_parameters_are_4xx(api):
    assert api.get(f"{BASE}/ids/{2**70}").json()["error_code"] == 40403
    assert api.get(f"{BASE}/subjects/v1.OrderPlaced/versions/{2**40}").status_code == 422
    assert api.get(f"{BASE}/subjects/v1.OrderPlaced/versions/%C2%B2").status_code == 422
    assert api.get(f"{BASE}/subjects/{'x' * 201}/versions").status_code == 404
    assert api.get(f"{BASE}/subjects/bad%00name/versions").status_code == 404
    assert api.get(f"{BASE}/subjects?deleted=maybe").status_code == 400
    assert api.get(f"{BASE}/subjects?limit=-2").status_code == 400
    assert api.get(f"{BASE}/subjects?subjectPrefix=a%00").status_code == 400


def test_a_body_nested_too_deeply_is_400(api):
    body = "[" * 100_000 + "]" * 100_000
    response = post_raw(api, f"{BASE}/subjects/v1.Thing/versions", body, CONFLUENT_V1)
    assert response.status_code == 400 and response.json()["error_code"] == 400


def test_deeply_nested_schemas_are_refused_as_invalid(api):
    deep = "[" * 5000 + "]" * 5000
    url = f"{BASE}/subjects/v1.Thing/versions"
    as_text = api.post(url, {"schema": deep}, format="json")
    assert as_text.status_code == 422 and as_text.json()["error_code"] == 42201
    nested: dict = {"type": "object"}
    for _ in range(70):
        nested = {"type": "object", "properties": {"a": nested}}
    as_object = api.post(url, {"schema": json.dumps(nested)}, format="json")
    assert as_object.status_code == 422 and "nest" in as_object.json()["detail"]


def test_subject_lists_page_and_filter(api):
    for name in ("a.one", "a.two", "b.one"):
        api.post(f"{BASE}/subjects/{name}/versions", {"schema": V1}, format="json")
    assert api.get(f"{BASE}/subjects?subjectPrefix=a.").json() == ["a.one", "a.two"]
    assert api.get(f"{BASE}/subjects?subjectPrefix=a.&offset=1&limit=1").json() == ["a.two"]
    api.delete(f"{BASE}/subjects/a.one")
    assert api.get(f"{BASE}/subjects?subjectPrefix=a.&deletedOnly=true").json() == ["a.one"]
    assert api.get(f"{BASE}/subjects?subjectPrefix=a.&deleted=true").json() == ["a.one", "a.two"]
