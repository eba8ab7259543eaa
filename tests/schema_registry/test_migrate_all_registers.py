"""``migrate_all`` registers the hosted apps' event schemas where the registry is hosted, so a
newcomer's ``migrate_all`` + ``runserver`` publishes events (no ``edn_schemas register``
needed); a process whose registry is remote, or that has none, migrates and says why it
registered nothing.

The real commands run in child processes on fresh databases: SQLite files (the newcomer's
setup) and, where PostgreSQL is running, databases of its own (``edn_h4_mig_<run>_<alias>``).
"""

import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
from django.core.management import call_command

from tests.support.deployment import PG, free_port, postgres_or_skip, wait_for

ROOT = Path(__file__).resolve().parents[2]
ALIASES = ("default", "customers", "orders", "inventory", "sagas", "schema_registry")
TOPIC = "v1.CustomerAddressUpdated"
ADDRESS = {"street": "1 A", "city": "London", "state": "L", "country": "UK", "postalCode": "N1"}


def environment(tmp_path: Path, **extra: str) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_DATABASE_URL") and not k.startswith(("DJANGO_", "EDN_"))
    }
    env.update(DJANGO_DEBUG="1", EDN_DATA_DIR=str(tmp_path), **extra)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return env


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{args}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return result.stdout


class Served:
    """``runserver`` as a newcomer starts it, stopped at the end."""

    def __init__(self, env: dict) -> None:
        bind = f"127.0.0.1:{free_port()}"
        self.base = f"http://{bind}"
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", bind, "--noreload"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def answers(self) -> bool:
        try:
            return httpx.get(f"{self.base}/healthz", timeout=10).status_code == 200
        except httpx.TransportError:
            assert self.process.poll() is None, "runserver exited"
            return False

    def __enter__(self):
        wait_for(self.answers, 120, "runserver to answer")
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request, tmp_path):
    """The environment of a process hosting every app, on databases nobody migrated yet, and
    a way to count the outbox rows of a topic in the customers database."""
    if request.param == "sqlite":

        def outbox(topic: str) -> int:
            with sqlite3.connect(tmp_path / "customers.sqlite3") as db:
                sql = "SELECT count(*) FROM customers_outboxmessage WHERE topic = ?"
                return db.execute(sql, [topic]).fetchone()[0]

        yield environment(tmp_path), outbox
        return
    postgres_or_skip()
    names = {alias: f"edn_h4_mig_{uuid.uuid4().hex[:8]}_{alias}" for alias in ALIASES}
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        for name in names.values():
            admin.execute(f'CREATE DATABASE "{name}"')

    def outbox(topic: str) -> int:
        with psycopg.connect(f"{PG}/{names['customers']}") as db:
            sql = "SELECT count(*) FROM customers_outboxmessage WHERE topic = %s"
            return db.execute(sql, [topic]).fetchone()[0]

    urls = {f"{alias.upper()}_DATABASE_URL": f"{PG}/{name}" for alias, name in names.items()}
    try:
        yield environment(tmp_path, **urls), outbox
    finally:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
            for name in names.values():
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_migrate_all_then_runserver_publishes_an_address_change(fresh):
    env, outbox = fresh
    first = manage(env, "migrate_all")
    assert "event schemas: registering in the registry this process hosts" in first
    assert f"{TOPIC}: version 1 (id " in first and "event schemas registered" in first
    again = manage(env, "migrate_all")  # the same schemas again: nothing new
    assert f"{TOPIC}: version 1 (id " in again and "version 2" not in again

    token = manage(env, "edn_token", "newcomer").strip().splitlines()[-1]
    with Served(env) as served:
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=served.base, headers=auth, timeout=30) as api:
            body = {"firstName": "Ada", "lastName": "Byron", "creditLimit": "100.00"}
            created = api.post("/api/customers", json={**body, "shippingAddress": ADDRESS})
            assert created.status_code == 201, created.text
            moved = {**body, "shippingAddress": {**ADDRESS, "city": "Paris"}}
            updated = api.put(
                created.headers["Location"],
                json=moved,
                headers={"If-Match": created.headers["ETag"]},
            )
            assert updated.status_code == 200, updated.text
    assert outbox(TOPIC) == 1


def test_migrate_all_with_a_remote_registry_migrates_and_leaves_registering_to_deploy(tmp_path):
    env = environment(
        tmp_path,
        EDN_SERVICES="customers",
        EDN_SCHEMA_REGISTRY_URL=f"http://127.0.0.1:{free_port()}",  # not even up
    )
    out = manage(env, "migrate_all")
    assert "migrated 2 aliases" in out
    assert "the schema registry is remote (EDN_SCHEMA_REGISTRY_URL)" in out
    assert "edn_schemas register" in out and "version 1" not in out


def test_migrate_all_without_any_registry_says_there_is_nothing_to_register(settings, capsys):
    from edn_core import schemas
    from edn_core.management.commands.migrate_all import Command
    from schema_registry.source import LocalSchemaSource

    settings.EDN_SCHEMA_REGISTRY_URL = ""
    schemas.install_local_source(None)
    try:
        Command().register_schemas()
    finally:
        schemas.install_local_source(LocalSchemaSource())
    assert "no schema registry is configured" in capsys.readouterr().out


@pytest.mark.django_db(databases="__all__")
def test_migrate_all_registering_twice_adds_no_version():
    from schema_registry.models import SchemaVersion

    before = SchemaVersion.objects.count()
    call_command("migrate_all", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert SchemaVersion.objects.count() == before
