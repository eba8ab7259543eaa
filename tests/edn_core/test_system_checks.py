"""A production process refuses to start with a key shorter than 32 bytes, and warns about a
user who still has the development password, which a production login refuses."""

import importlib
import logging
from types import SimpleNamespace

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import authenticate, get_user_model
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from edn_core.checks import report_development_logins

LONG = "k" * 32
DEFAULT = ["default"]
ALL = "__all__"  # the schemas registered before every database test need the registry


def ids(databases=None) -> set[str]:
    return {message.id for message in checks.run_checks(databases=databases)}


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    return settings


def test_a_secret_key_shorter_than_32_bytes_stops_every_command(production):
    production.SECRET_KEY = "k" * 31
    with pytest.raises(SystemCheckError, match=r"edn_core\.E001"):
        call_command("check")
    production.SECRET_KEY = "é" * 16  # 32 bytes in UTF-8
    assert "edn_core.E001" not in ids()
    production.SECRET_KEY_FALLBACKS = [LONG, "old"]  # a key rotated out still signs cookies
    assert "edn_core.E001" in ids()
    production.DEBUG = True  # development runs with its own key
    production.SECRET_KEY, production.SECRET_KEY_FALLBACKS = "dev", []
    assert "edn_core.E001" not in ids()


def test_an_hs_signing_key_shorter_than_32_bytes_is_an_error(production):
    jwt = production.SIMPLE_JWT
    production.SIMPLE_JWT = {**jwt, "ALGORITHM": "HS256", "SIGNING_KEY": "j" * 31}
    assert "edn_core.E002" in ids()
    production.SIMPLE_JWT = {**jwt, "ALGORITHM": "HS512", "SIGNING_KEY": LONG}
    assert "edn_core.E002" not in ids()
    production.SIMPLE_JWT = {**jwt, "ALGORITHM": "RS256", "SIGNING_KEY": ""}  # verifies only
    assert "edn_core.E002" not in ids()


@pytest.mark.django_db(databases=ALL)
def test_the_development_password_is_a_warning_of_the_database_checks(production):
    users = get_user_model().objects
    admin = users.create_superuser("admin", "admin@example.com", "admin")
    users.create_user("bob", password="admin")  # not a development login: never hashed
    assert "edn_core.W001" not in ids()  # without --database, no check reads a database
    found = checks.run_checks(databases=DEFAULT)
    assert [(m.id, m.obj) for m in found if m.id == "edn_core.W001"] == [("edn_core.W001", "admin")]
    call_command("check", "--database", "default")  # a warning: the command passes
    admin.set_password("a-real-password-at-last")
    admin.save()
    assert "edn_core.W001" not in ids(DEFAULT)
    production.DEBUG = True
    admin.set_password("admin")
    admin.save()
    assert "edn_core.W001" not in ids(DEFAULT)  # scripts/run's own login


@pytest.mark.django_db(databases=ALL)
def test_a_production_login_refuses_the_development_password(production, client):
    get_user_model().objects.create_superuser("admin", "admin@example.com", "admin")
    assert authenticate(username="admin", password="admin") is None
    form = {"username": "admin", "password": "admin", "next": "/admin/"}
    refused = client.post("/admin/login/", form)
    assert refused.status_code == 200 and "_auth_user_id" not in client.session
    assert AccessAttempt.objects.get(username="admin").failures_since_start == 1  # counted
    production.DEBUG = True
    assert authenticate(username="admin", password="admin") is not None


@pytest.mark.django_db(databases=ALL, transaction=True)  # the thread's own connection
def test_a_started_server_reports_the_development_login(production, caplog):
    get_user_model().objects.create_superuser("admin", "admin@example.com", "admin")
    with caplog.at_level(logging.WARNING, logger="edn_core.checks"):
        report_development_logins().join(timeout=60)
    assert "edn_core.W001" in caplog.text


@pytest.fixture
def gunicorn_conf(monkeypatch, tmp_path):
    """The platform's gunicorn settings module, imported without making a metrics folder."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    # set by the browser tests' fixture for this process; a deployment never sets it
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    module = importlib.import_module("edn_core.project.gunicorn")
    monkeypatch.setattr(module.gc, "freeze", lambda: None)  # not this test process's objects
    return module


def test_gunicorn_refuses_to_start_a_worker_with_a_short_key(production, gunicorn_conf, caplog):
    from gunicorn.arbiter import Arbiter

    production.SECRET_KEY = "short"
    with pytest.raises(SystemExit) as stopped:
        gunicorn_conf.post_worker_init(SimpleNamespace(age=2))
    assert stopped.value.code == Arbiter.WORKER_BOOT_ERROR  # gunicorn halts on this code
    assert "edn_core.E001" in caplog.text
    production.SECRET_KEY = LONG + LONG
    gunicorn_conf.post_worker_init(SimpleNamespace(age=2))  # serves


def test_a_celery_worker_refuses_to_start_with_a_short_key(production, caplog, monkeypatch):
    from celery.signals import worker_init

    from config.celery import app  # noqa: F401 (connects the project's start-up check)
    from edn_core.project.celery import CHECKS_FAILED, refuse_on_check_errors

    # connected to worker_init (called directly: Celery's own receivers want a real worker)
    assert refuse_on_check_errors in [receiver for _, receiver in worker_init.receivers]
    # the browser tests set it, which is async.E001 in production
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    production.SECRET_KEY = "short"
    with pytest.raises(SystemExit) as stopped:
        refuse_on_check_errors(sender=None)
    assert stopped.value.code == CHECKS_FAILED
    assert "edn_core.E001" in caplog.text
    production.SECRET_KEY = LONG + LONG
    refuse_on_check_errors(sender=None)  # starts
