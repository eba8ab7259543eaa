"""Health endpoints, OpenAPI, admin login and the management commands."""

import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connections
from rest_framework_simplejwt.tokens import AccessToken

from customers.models import CustomerRecord
from tests.customers.factories import CreateCustomerFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def test_health_endpoints_need_no_token(anonymous, api):
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200
    aliases = {f"database:{alias}" for alias in connections.settings}
    assert ready.json() == {"status": "ok", "checks": dict.fromkeys(aliases, "ok")}
    detailed = api.get("/readyz").json()  # a valid bearer token: the outbox figures beside
    assert detailed["outbox"]["orders"] == {"pending": 0, "oldestPendingAgeSeconds": 0.0}


def _ready_with_a_broken_alias(client):
    broken = {**connections.settings["customers"]}
    broken.update(
        ENGINE="django.db.backends.postgresql",
        NAME="nope-db-name",
        HOST="127.0.0.1",
        PORT="1",
        USER="x",
        OPTIONS={"connect_timeout": 1},
    )
    connections.settings["broken"] = broken
    try:
        return client.get("/readyz")
    finally:
        del connections.settings["broken"]
        if "broken" in connections:
            del connections["broken"]


def test_readyz_tells_a_caller_without_a_token_only_which_check_fails(anonymous):
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer not-a-token"}):
        anonymous.credentials(**headers)
        response = _ready_with_a_broken_alias(anonymous)
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable" and set(body) == {"status", "checks"}
        assert body["checks"]["database:broken"] == "failing"
        assert body["checks"]["database:default"] == "ok"
        for hidden in ("OperationalError", "nope-db-name", "127.0.0.1", "port 1"):
            assert hidden not in response.content.decode(), hidden


def test_readyz_names_the_error_class_to_a_caller_with_a_token(api):
    response = _ready_with_a_broken_alias(api)
    assert response.status_code == 503
    errors = response.json()["errors"]
    assert list(errors) == ["database:broken"]
    assert errors["database:broken"].isidentifier()  # a class name, never the message
    assert "outbox" not in response.json()
    for hidden in ("nope-db-name", "127.0.0.1", "port 1"):
        assert hidden not in response.content.decode(), hidden


def test_openapi_schema_documents_both_sides_of_the_resource(anonymous):
    response = anonymous.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths["/api/customers"]) >= {"get", "post"}
    assert set(paths["/api/customers/{id}"]) >= {"get", "put", "patch", "delete"}
    schemas = response.json()["components"]["schemas"]
    assert {"firstName", "shippingAddress", "creditLimit"} <= set(
        schemas["CustomerInRequest"]["properties"]
    )
    assert anonymous.get("/api/docs/").status_code == 200


def test_schema_generation_has_no_warnings():
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--fail-on-warn",
            "--validate",
            "--file",
            "/dev/null",
        ],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
    )
    assert result.returncode == 0, result.stderr


def test_admin_uses_django_login_and_edits_through_commands(client):
    customer = CreateCustomerFactory.create(first_name="Ada")
    assert client.get("/admin/customers/customerrecord/").status_code == 302
    get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.login(username="root", password="pw")
    assert client.get("/admin/customers/customerrecord/").status_code == 200
    url = f"/admin/customers/customerrecord/{customer.id}/change/"
    assert client.get(url).status_code == 200
    address = customer.shipping_address
    form = {
        "first_name": "Augusta",
        "last_name": customer.last_name,
        "street": address.street,
        "city": address.city,
        "state": address.state,
        "country": address.country,
        "postal_code": address.postal_code,
        "credit_limit": "120.00",
    }
    assert client.post(url, form).status_code == 302
    row = CustomerRecord.objects.get(pk=customer.id)
    assert (row.first_name, row.credit_limit) == ("Augusta", 120) and row.version > 1


def test_edn_token_prints_a_verifiable_token_alone_on_the_last_line(capsys):
    call_command("edn_token", "carol")
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    token = AccessToken(last_line)
    assert token["username"] == "carol"
    assert get_user_model().objects.filter(username="carol").exists()


def test_migrate_all_migrates_every_alias(capsys):
    call_command("migrate_all")
    out = capsys.readouterr().out
    assert "migrating alias 'default'" in out and "migrating alias 'customers'" in out


def test_demo_data_is_idempotent(capsys):
    call_command("edn_demo")
    call_command("edn_demo")
    assert CustomerRecord.objects.count() == 3


def test_readyz_checks_the_broker_when_events_go_through_one(anonymous, api, settings):
    settings.EDN_BUS_TRANSPORT = "celery"
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"
    response = anonymous.get("/readyz")
    assert response.status_code == 503 and response.json()["checks"]["broker"] == "failing"
    assert api.get("/readyz").json()["errors"]["broker"]  # its error class
