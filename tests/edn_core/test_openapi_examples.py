"""The OpenAPI document's examples are realistic and valid (Swagger UI shows them, schemathesis
sends them), and every response of every operation says what it is."""

import re

import pytest
from django.test import Client
from jsonschema import Draft4Validator

DTO = re.compile(r"^(Patched)?(Customer|Order|Product|Saga|Cancel)")  # the services' DTOs
# an event's own data: its shape varies by type; a saga's steps: the stored timeline
WITHOUT_EXAMPLE = {("OrderEventOut", "data"), ("SagaOut", "steps")}


@pytest.fixture(scope="module")
def document():
    return Client().get("/api/schema/?format=json", HTTP_ACCEPT="application/json").json()


def resolve(document: dict, schema: dict) -> dict:
    if "$ref" in schema:
        return document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def example_of(document: dict, schema: dict):
    """The body Swagger UI builds from the properties' examples."""
    schema = resolve(document, schema)
    if "example" in schema:
        return schema["example"]
    if schema.get("type") == "array":
        return [example_of(document, schema["items"])]
    return {name: example_of(document, p) for name, p in schema.get("properties", {}).items()}


def valid(document: dict, schema: dict, value) -> bool:
    if value is None and schema.get("nullable"):
        return True
    rooted = {**schema, "components": document["components"]}  # where its $refs point
    return Draft4Validator({k: v for k, v in rooted.items() if k != "example"}).is_valid(value)


def test_each_field_example_is_valid_by_its_schema(document):
    checked = 0
    for name, component in document["components"]["schemas"].items():
        for field, schema in component.get("properties", {}).items():
            if "example" in schema:
                assert valid(document, schema, schema["example"]), (name, field, schema)
                checked += 1
            elif DTO.match(name) and "$ref" not in schema and schema.get("type") != "array":
                assert (name, field) in WITHOUT_EXAMPLE, f"{name}.{field} has no example"
    assert checked > 40


@pytest.mark.django_db(databases="__all__")
@pytest.mark.parametrize(
    ("path", "status"), [("/api/customers", 201), ("/api/inventory", 201), ("/api/orders", 202)]
)
def test_the_example_bodies_are_accepted(api, document, path, status):
    operation = document["paths"][path]["post"]
    body = example_of(document, operation["requestBody"]["content"]["application/json"]["schema"])
    response = api.post(path, body, format="json")
    assert response.status_code == status, response.content
    shown = example_of(
        document, operation["responses"][str(status)]["content"]["application/json"]["schema"]
    )
    assert set(shown) == set(response.json())  # the response example has every field


def test_every_response_is_described_and_every_problem_shown(document):
    problem = document["components"]["schemas"]["Problem"]
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            for code, response in operation["responses"].items():
                assert response.get("description"), (method, path, code)
                media = response.get("content", {}).get("application/problem+json")
                if media and "example" in media:
                    assert valid(document, problem, media["example"]), (method, path, code)
                    assert media["example"]["status"] == int(code)
    placed = document["paths"]["/api/orders"]["post"]["responses"]
    assert placed["202"]["description"].startswith("Accepted: the order, Pending")
    assert placed["403"]["content"]["application/problem+json"]["example"]["detail"] == (
        "This operation needs the scope orders:write, which the token does not have."
    )
