"""Every operation of the OpenAPI document needs the scope its security requirement names:
a token with every other scope gets 403 insufficient-scope, a token with that scope alone
gets past authorization (whatever the request then does with its made-up parameters)."""

import uuid

import pytest
from rest_framework.test import APIClient

from edn_core.pytest_plugin import bearer_token
from edn_core.scopes import SAGAS_OPERATE, SCHEMAS_ADMIN, all_scopes

pytestmark = pytest.mark.django_db(databases="__all__")
METHODS = ("get", "post", "put", "patch", "delete")
PATH_VALUES = {"subject": "v1.NoSuchTopic", "version": "1", "schema_id": "1"}


def operations(document: dict) -> list[tuple[str, str, str]]:
    """(method, path, scope) of each operation that needs a token."""
    found = []
    for path, item in document["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None or not operation.get("security"):
                continue
            assert [r for r in operation["security"] if r] == [{"jwtAuth": []}], path
            (scope,) = operation["x-required-scopes"]
            assert f"Needs the scope `{scope}`." in operation["description"]
            found.append((method, path, scope))
    return found


def url(path: str, parameters: list[dict]) -> str:
    for parameter in parameters:
        if parameter["in"] == "path":
            name = parameter["name"]
            value = PATH_VALUES.get(name, str(uuid.uuid4()))
            path = path.replace(f"{{{name}}}", value)
    return path


@pytest.fixture(scope="module")
def document(django_db_blocker):
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def call(method: str, path: str, document: dict, scopes) -> object:
    operation = document["paths"][path][method]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer_token(scopes=scopes)}")
    body = {"data": {}, "format": "json"} if method in ("post", "put", "patch") else {}
    return getattr(client, method)(url(path, operation.get("parameters", [])), **body)


def test_the_document_names_a_known_scope_for_every_operation_that_needs_a_token(document):
    found = operations(document)
    assert len(found) >= 20
    assert {scope for _, _, scope in found} <= set(all_scopes())
    scopes = {(method, path): scope for method, path, scope in found}
    assert scopes["put", "/api/schemas/config"] == SCHEMAS_ADMIN
    assert scopes["put", "/api/schemas/config/{subject}"] == SCHEMAS_ADMIN
    assert scopes["delete", "/api/schemas/subjects/{subject}"] == SCHEMAS_ADMIN
    assert scopes["post", "/api/sagas/{id}/retry"] == SAGAS_OPERATE
    assert scopes["post", "/api/sagas/{id}/cancel"] == SAGAS_OPERATE
    assert scopes["post", "/api/customers"] == "customers:write"
    assert scopes["get", "/api/customers"] == "customers:read"


def test_without_its_scope_every_operation_is_403_and_with_it_none_is(document):
    for method, path, scope in operations(document):
        others = [s for s in all_scopes() if s != scope]
        refused = call(method, path, document, others)
        assert refused.status_code == 403, (method, path, refused.content)
        assert refused["Content-Type"] == "application/problem+json"
        problem = refused.json()
        assert problem["type"] == "urn:edn:problem:insufficient-scope", (method, path)
        assert scope in problem["detail"]
        challenge = refused["WWW-Authenticate"]
        assert challenge == f'Bearer error="insufficient_scope", scope="{scope}"'

        allowed = call(method, path, document, [scope])
        assert allowed.status_code not in (401, 403), (method, path, allowed.content)
        assert allowed.status_code < 500, (method, path, allowed.content)


def test_a_token_without_any_scope_can_do_nothing(document):
    for method, path, _ in operations(document):
        assert call(method, path, document, []).status_code == 403, (method, path)
