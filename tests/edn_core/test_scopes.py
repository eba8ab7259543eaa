"""Scopes: which a token grants, which an operation needs, and the tokens edn_token mints."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from edn_core.pytest_plugin import bearer_token
from edn_core.scopes import all_scopes, required_scope, token_scopes


@pytest.mark.parametrize(
    ("claims", "granted"),
    [
        ({"scope": "customers:read orders:write"}, {"customers:read", "orders:write"}),
        ({"scp": "customers:read  orders:write"}, {"customers:read", "orders:write"}),
        ({"scp": ["customers:read", "orders:write"]}, {"customers:read", "orders:write"}),
        ({"scope": "a:read", "scp": ["b:read"]}, {"a:read", "b:read"}),
        ({"scp": ["a:read", 7, None]}, {"a:read"}),
        ({"scope": 7}, set()),
        ({}, set()),
    ],
)
def test_a_token_grants_the_scopes_of_its_scope_and_scp_claims(claims, granted):
    assert token_scopes(claims) == granted


class Declared:
    required_scopes = {"cancel": "sagas:operate", "DELETE": "schemas:admin"}
    action = "cancel"


def test_an_operation_needs_its_declared_scope_by_action_or_method():
    view = Declared()
    assert required_scope(view, "POST") == "sagas:operate"
    view.action = "destroy"
    assert required_scope(view, "DELETE") == "schemas:admin"


def test_an_operation_of_an_app_needs_its_read_or_write_scope():
    from customers.api import CustomerCommands, CustomerQueries

    assert required_scope(CustomerQueries(), "GET") == "customers:read"
    assert required_scope(CustomerQueries(), "HEAD") == "customers:read"
    assert required_scope(CustomerCommands(), "PATCH") == "customers:write"


def test_a_view_outside_any_app_must_declare_its_scope():
    with pytest.raises(LookupError, match="declare its scope"):
        required_scope(type("Loose", (), {"__module__": "elsewhere"})(), "GET")


def test_every_service_app_has_read_and_write_scopes(settings):
    for app in settings.EDN_SERVICE_APPS:
        assert {f"{app}:read", f"{app}:write"} <= set(all_scopes())


@pytest.mark.django_db(databases="__all__")
def test_edn_token_grants_every_scope_without_scope_and_only_those_given_with_it(capsys):
    call_command("edn_token", "carol")
    token = AccessToken(capsys.readouterr().out.strip().splitlines()[-1])
    assert token["sub"] == "carol" and set(token["scope"].split()) == set(all_scopes())

    call_command("edn_token", "carol", "--scope", "orders:read", "--scope", "customers:read")
    out = capsys.readouterr().out.strip().splitlines()
    assert "customers:read orders:read" in out[0]
    assert AccessToken(out[-1])["scope"] == "customers:read orders:read"


@pytest.mark.django_db(databases="__all__")
def test_edn_token_refuses_unknown_scopes_and_deactivated_users():
    with pytest.raises(CommandError, match="unknown scope"):
        call_command("edn_token", "carol", "--scope", "customers:admin")
    get_user_model().objects.create(username="gone", is_active=False)
    with pytest.raises(CommandError, match="deactivated"):
        call_command("edn_token", "gone")


@pytest.mark.django_db(databases="__all__")
def test_a_read_token_reads_but_cannot_write_and_says_why():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer_token(scopes=['customers:read'])}")
    assert client.get("/api/customers").status_code == 200
    refused = client.post("/api/customers", {"firstName": "A"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "This operation needs the scope customers:write, which the token does not have."
    )


@pytest.mark.django_db(databases="__all__")
def test_no_token_is_still_401_not_403(anonymous):
    response = anonymous.get("/api/customers")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_the_scope_claims_are_a_setting(settings):
    settings.EDN_JWT_SCOPE_CLAIMS = ("scope", "roles")
    claims = {"scp": ["customers:read"], "roles": ["orders:read"], "scope": "sagas:read"}
    assert token_scopes(claims) == {"orders:read", "sagas:read"}
