"""Settings are secure by default and select the hosted services from EDN_SERVICES."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.services import SERVICE_APPS
from edn_core.project import hosted_services


def test_all_services_by_default():
    assert hosted_services("", SERVICE_APPS) == list(SERVICE_APPS)
    assert hosted_services("all", SERVICE_APPS) == list(SERVICE_APPS)


def test_a_subset_is_hosted_in_registry_order():
    assert hosted_services(" customers ", SERVICE_APPS) == ["customers"]


def test_unknown_service_is_a_configuration_error():
    with pytest.raises(ImproperlyConfigured, match="billing"):
        hosted_services("customers,billing", SERVICE_APPS)


def _settings_of(env: dict) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "EDN_")) and not k.endswith("_DATABASE_URL")
    }
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, sorted(s.DATABASES), s.INSTALLED_APPS[-1])"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
    )


def test_debug_is_off_and_keys_are_required_unless_asked(tmp_path):
    no_keys = _settings_of({"EDN_DATA_DIR": str(tmp_path)})
    assert no_keys.returncode != 0 and "DJANGO_SECRET_KEY is required" in no_keys.stderr
    no_jwt = _settings_of({"EDN_DATA_DIR": str(tmp_path), "DJANGO_SECRET_KEY": "k" * 50})
    assert no_jwt.returncode != 0 and "EDN_JWT_SIGNING_KEY is required" in no_jwt.stderr
    ok = _settings_of(
        {
            "EDN_DATA_DIR": str(tmp_path),
            "DJANGO_SECRET_KEY": "k" * 50,
            "EDN_JWT_SIGNING_KEY": "j" * 50,
        }
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.split()[0] == "False"


def test_each_service_gets_its_own_alias(tmp_path):
    result = _settings_of(
        {"DJANGO_DEBUG": "1", "EDN_DATA_DIR": str(tmp_path), "EDN_SERVICES": "customers"}
    )
    assert result.returncode == 0, result.stderr
    assert "['customers', 'default'] customers" in result.stdout


def test_a_single_service_process_hosts_only_its_app(tmp_path):
    code = (
        "import django; django.setup(); from django.urls import resolve, Resolver404;\n"
        "from django.conf import settings as s; print(sorted(s.DATABASES));\n"
        "assert resolve('/api/orders').url_name != 'api-not-found';\n"
        "try:\n    served = resolve('/api/customers').url_name != 'api-not-found'\n"
        "except Resolver404:\n    served = False\n"  # the catch-all answers a 404 problem
        "print('customers served' if served else 'customers not served')\n"
    )
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "EDN_")) and not k.endswith("_DATABASE_URL")
    }
    env = {
        **clean,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "1",
        "EDN_DATA_DIR": str(tmp_path),
        "EDN_SERVICES": "orders",
    }
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["['default', 'orders']", "customers not served"]
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate_all"], capture_output=True, text=True, env=env
    )
    assert migrate.returncode == 0, migrate.stderr
    assert {p.name for p in tmp_path.glob("*.sqlite3")} == {"default.sqlite3", "orders.sqlite3"}


def test_the_in_process_relay_is_off_for_a_subset_of_the_apps(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.EDN_BUS['in_process'])"
    )
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "EDN_")) and not k.endswith("_DATABASE_URL")
    }
    base = {
        **clean,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "1",
        "EDN_DATA_DIR": str(tmp_path),
    }
    every = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=base)
    subset = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**base, "EDN_SERVICES": "orders"},
    )
    assert (every.stdout.strip(), subset.stdout.strip()) == ("True", "False")


def test_celery_workers_run_without_remote_control():
    """The worker has no pidbox queue: after a broker outage under load, consuming it again
    found it deleted and Celery ended the worker mid-backlog (tests/faults saw it once).
    ``EDN_CELERY_REMOTE_CONTROL`` turns it back on for whoever needs ``celery inspect``."""
    from config.celery import app

    assert app.conf.worker_enable_remote_control is False
