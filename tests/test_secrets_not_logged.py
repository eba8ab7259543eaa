"""No secret reaches a log line, an error answer or a stored error, with every logger at DEBUG:
the settings' keys, database, broker and registry passwords, the Dapr tokens, the JWT key, the
registry token and an admin password. Each code path that handles one runs, and fails:
settings load, readiness with everything down, an API call without its database, bad tokens,
the Dapr routes and publisher, the remote schema registry, the relay against a broker that
refuses its password, and a failed admin login."""

import json
import logging
import os
import secrets
import socket
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client

from edn_core.bus.stores import all_stores
from edn_core.bus.transports import get_transport
from edn_core.bus.worker import BusWorker
from edn_core.security import redact_url
from tests.conftest import BROKERS, broker_or_skip
from tests.sagas.helpers import new_customer, new_product, place

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def secret(kind: str) -> str:
    return f"{kind}-{secrets.token_hex(8)}"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def everything_at_debug() -> None:
    """Every logger at DEBUG, the ones the settings quieten included."""
    logging.getLogger().setLevel(logging.DEBUG)
    for name in list(logging.Logger.manager.loggerDict):
        logging.getLogger(name).setLevel(logging.DEBUG)


# Runs in a process of its own: the settings are loaded from this environment, with DEBUG off.
SCRIPT = """
import json, logging, sys
import django
django.setup()
sys.path.insert(0, {root!r})
from tests.test_secrets_not_logged import everything_at_debug
everything_at_debug()
logging.getLogger("edn.test").info("settings loaded")

from django.conf import settings
from django.test import Client, RequestFactory
from rest_framework_simplejwt.tokens import AccessToken

token = AccessToken(); token["user_id"] = "1"; token["scope"] = "customers:read"
client = Client(raise_request_exception=False)  # answered as a server would
seen = {{
    "readyz": client.get("/readyz").status_code,
    "api": client.get("/api/customers", HTTP_AUTHORIZATION=f"Bearer {{token}}").status_code,
    "bad token": client.get("/api/customers", HTTP_AUTHORIZATION="Bearer x.y.z").status_code,
    "admin": client.post("/admin/login/", {{"username": "ops", "password": sys.argv[1]}})
    .status_code,
}}

from edn_core.dapr_app import dapr_subscribe
request = RequestFactory().get("/dapr/subscribe", HTTP_DAPR_API_TOKEN="not-the-token")
seen["dapr route"] = dapr_subscribe(request).status_code

from types import SimpleNamespace
from edn_core.bus.transports.dapr import DaprTransport
row = SimpleNamespace(id=1, topic="v1.Ping", event_id="e1", aggregate_id="a1", envelope="{{}}")
try:
    DaprTransport().publish([row])
except Exception as error:
    seen["dapr publish"] = type(error).__name__

from edn_core.schema_client import HttpSchemaSource
try:
    HttpSchemaSource(settings.EDN_SCHEMA_REGISTRY_URL).get("v1.Ping", None)
except Exception as error:
    seen["registry"] = type(error).__name__

from edn_core.bus.transports.celery import CeleryTransport
try:
    CeleryTransport().publish([row])
except Exception as error:
    seen["broker"] = type(error).__name__
print(json.dumps(seen))
"""


def test_no_secret_in_the_logs_of_a_process_where_everything_fails(tmp_path):
    down = f"127.0.0.1:{closed_port()}"
    values = {
        "DJANGO_SECRET_KEY": secret("django-secret-key") * 3,
        "EDN_JWT_SIGNING_KEY": secret("jwt-signing-key") * 2,
        "APP_API_TOKEN": secret("app-api-token"),
        "DAPR_API_TOKEN": secret("dapr-api-token"),
        "EDN_SCHEMA_REGISTRY_TOKEN": secret("registry-token"),
    }
    passwords = {
        "database": secret("db-password"),
        "broker": secret("broker-password"),
        "registry": secret("registry-password"),
        "admin": secret("admin-password"),
    }
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "EDN_", "APP_", "DAPR_", "CELERY_"))
        and not k.endswith("_DATABASE_URL")
    }
    env.update(
        values,
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_ALLOWED_HOSTS="testserver",
        EDN_DATA_DIR=str(tmp_path),
        EDN_LOG_LEVEL="DEBUG",
        EDN_BUS_TRANSPORT="celery",
        CELERY_BROKER_URL=f"amqp://edn:{passwords['broker']}@{down}//",
        EDN_SCHEMA_REGISTRY_URL=f"http://edn:{passwords['registry']}@{down}",
        DAPR_HTTP_PORT=down.split(":")[1],
        EDN_DAPR_TIMEOUT_SECONDS="2",
    )
    for alias in ("DEFAULT", "CUSTOMERS", "ORDERS", "INVENTORY", "SAGAS", "SCHEMA_REGISTRY"):
        env[f"{alias}_DATABASE_URL"] = f"postgres://edn:{passwords['database']}@{down}/edn_h7"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(root=ROOT), passwords["admin"]],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen == {
        "readyz": 503,
        "api": 503,
        "bad token": 401,
        "admin": 503,
        "dapr route": 401,
        "dapr publish": "DaprPublishError",
        "registry": "RegistryUnavailable",
        "broker": "OperationalError",
    }
    # the paths logged what went wrong (at DEBUG, with their details)...
    for line in ("settings loaded", "database unavailable", "schema registry at", "DEBUG"):
        assert line in output, line
    # ...and never a secret
    leaked = {name for name, value in {**values, **passwords}.items() if value in output}
    assert leaked == set(), [
        line
        for line in output.splitlines()
        if any(v in line for v in {**values, **passwords}.values())
    ][:5]


@pytest.fixture
def debug_logs(caplog):
    """Every logger at DEBUG for the test (restored after), captured by ``caplog``."""
    levels = {name: logging.getLogger(name).level for name in logging.Logger.manager.loggerDict}
    root = logging.getLogger().level
    everything_at_debug()
    caplog.set_level(logging.DEBUG)
    yield caplog
    logging.getLogger().setLevel(root)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{parts.hostname}:{parts.port}"))


@pytest.mark.django_db(databases="__all__")
@pytest.mark.parametrize("broker", sorted(BROKERS))
def test_a_broker_refusing_the_relays_password_never_sees_it_logged_or_stored(
    broker, api, settings, debug_logs
):
    password = secret("broker-password")
    settings.EDN_BUS_TRANSPORT = "celery"
    settings.CELERY_BROKER_URL = with_password(broker_or_skip(BROKERS[broker]), password)
    assert place(api, new_customer(api), new_product(api)).status_code == 202  # an event to relay
    get_transport.cache_clear()  # the process's transport is made once, from the settings
    worker = BusWorker(listen=False)
    try:
        worker.run_once()
    finally:
        get_transport.cache_clear()
    assert worker.failures >= 1 and "relay:" in debug_logs.text
    errors = [
        error
        for store in all_stores()
        for error in store.rows(store.outbox).values_list("last_error", flat=True)
        if error
    ]
    assert errors and not [e for e in errors if password in e]  # shown in the admin
    assert password not in debug_logs.text


@pytest.mark.django_db(databases="__all__")
def test_a_failed_admin_login_keeps_the_password_out_of_logs_and_attempts(debug_logs):
    get_user_model().objects.create_superuser("ops", "ops@example.com", "right-password")
    password = secret("admin-password")
    answer = Client().post("/admin/login/", {"username": "ops", "password": password})
    assert answer.status_code == 200 and "AXES: New login failure" in debug_logs.text
    (attempt,) = AccessAttempt.objects.all()
    assert password not in debug_logs.text
    assert password not in f"{attempt.get_data} {attempt.post_data}"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://edn:pw@registry:8001/x", "http://edn:***@registry:8001/x"),
        ("redis://:pw@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("amqp://guest@rabbit//", "amqp://guest@rabbit//"),
        ("http://registry.edn.svc", "http://registry.edn.svc"),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown
