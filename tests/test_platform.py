"""Health endpoints, OpenAPI, admin login and the management commands."""

import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework_simplejwt.tokens import AccessToken

from customers.models import CustomerRecord
from tests.customers.factories import CreateCustomerFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def test_health_endpoints_need_no_token(anonymous):
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert (body["status"], body["checks"]) == ("ok", {})
    assert body["outbox"]["orders"] == {"pending": 0, "oldestPendingAgeSeconds": 0.0}


def test_readyz_reports_an_unreachable_database(anonymous, settings):
    from django.db import connections

    broken = {**connections.settings["customers"]}
    broken.update(
        ENGINE="django.db.backends.postgresql",
        NAME="nope",
        HOST="127.0.0.1",
        PORT="1",
        USER="x",
        OPTIONS={"connect_timeout": 1},
    )
    connections.settings["broken"] = broken
    try:
        response = anonymous.get("/readyz")
    finally:
        del connections.settings["broken"]
        if "broken" in connections:
            del connections["broken"]
    assert response.status_code == 503
    assert "database:broken" in response.json()["checks"]


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


def test_readyz_checks_the_broker_when_events_go_through_one(anonymous, settings):
    settings.EDN_BUS_TRANSPORT = "celery"
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"
    response = anonymous.get("/readyz")
    assert response.status_code == 503 and "broker" in response.json()["checks"]
