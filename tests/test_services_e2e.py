"""Services as separate OS processes, each with its own PostgreSQL databases, events over a
real broker (RabbitMQ, then Redis): the address-changed flow across processes.

registry: gunicorn hosting schema_registry
customers: gunicorn + edn_relay (publishes v1.CustomerAddressUpdated through the broker)
orders: gunicorn + Celery worker (consumes its queue) + edn_relay
"""

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import REQUIRE_SERVICES

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("EDN_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432")
SERVICES = {"registry": ["schema_registry"], "customers": ["customers"], "orders": ["orders"]}


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_or_skip() -> None:
    try:
        psycopg.connect(f"{PG}/postgres", connect_timeout=3).close()
    except psycopg.Error as error:
        if REQUIRE_SERVICES:
            pytest.fail(f"EDN_REQUIRE_SERVICES=1 but PostgreSQL is unreachable: {error}")
        pytest.skip(f"PostgreSQL is unreachable: {error}")


class Deployment:
    """Databases, environments and processes of one multi-service run."""

    def __init__(self, broker_url: str, logs: Path) -> None:
        self.run = uuid.uuid4().hex[:8]
        self.broker_url, self.logs = broker_url, logs
        self.ports = {name: _port() for name in SERVICES}
        self.processes: list[subprocess.Popen] = []
        self.databases = [
            f"edn_e2e_{self.run}_{svc}_{alias}"
            for svc, apps in SERVICES.items()
            for alias in ("default", *apps)
        ]

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def env(self, service: str) -> dict:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.endswith("_DATABASE_URL") and not k.startswith(("DJANGO_", "EDN_"))
        }
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DJANGO_SECRET_KEY="e2e-" * 12,
            EDN_JWT_SIGNING_KEY="e2e-jwt-key-" * 4,
            EDN_SERVICES=",".join(SERVICES[service]),
            EDN_BUS_TRANSPORT="celery",
            CELERY_BROKER_URL=self.broker_url,
            EDN_BROKER_NAMESPACE=f"e2e{self.run}",
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            EDN_BUS_SWEEP_SECONDS="1",
            GUNICORN_WORKERS="2",
            GUNICORN_BIND=f"127.0.0.1:{self.ports[service]}",
            GUNICORN_ACCESSLOG="",
            GUNICORN_WORKER_TMP_DIR="/tmp",
            DJANGO_SECURE_COOKIES="0",
        )
        for alias in ("default", *SERVICES[service]):
            env[f"{alias.upper()}_DATABASE_URL"] = f"{PG}/edn_e2e_{self.run}_{service}_{alias}"
        if service != "registry":
            env["EDN_SCHEMA_REGISTRY_URL"] = self.url("registry")
        return env

    def manage(self, service: str, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env(service),
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, f"{service} {args}: {result.stderr[-2000:]}"
        return result.stdout

    def start(self, service: str, name: str, *command: str) -> subprocess.Popen:
        log = open(self.logs / f"{service}-{name}.log", "w")  # noqa: SIM115
        process = subprocess.Popen(
            list(command), cwd=ROOT, env=self.env(service), stdout=log, stderr=subprocess.STDOUT
        )
        self.processes.append(process)
        return process

    def serve(self, service: str) -> None:
        self.start(
            service,
            "web",
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "config/gunicorn.py",
            "config.wsgi",
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url(service)}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{service} did not become ready; see {self.logs}")

    def __enter__(self):
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            for name in self.databases:
                conn.execute(f'CREATE DATABASE "{name}"')
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            for name in self.databases:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_address_change_crosses_process_and_database_boundaries(broker_url, tmp_path):
    _postgres_or_skip()
    with Deployment(broker_url, tmp_path) as deployment:
        for service in SERVICES:
            deployment.manage(service, "migrate_all")
        deployment.serve("registry")
        for service in ("customers", "orders"):
            deployment.manage(service, "edn_schemas", "register")
        deployment.manage("orders", "edn_broker")
        deployment.serve("customers")
        deployment.serve("orders")
        deployment.start("customers", "relay", sys.executable, "manage.py", "edn_relay")
        deployment.start("orders", "relay", sys.executable, "manage.py", "edn_relay")
        deployment.start(
            "orders",
            "worker",
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config.celery",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
        )
        token = deployment.manage("customers", "edn_token", "e2e").strip().splitlines()[-1]
        auth = {"Authorization": f"Bearer {token}"}
        customers = httpx.Client(base_url=deployment.url("customers"), headers=auth, timeout=10)
        orders = httpx.Client(base_url=deployment.url("orders"), headers=auth, timeout=10)

        address = {
            "street": "1 Old Road",
            "city": "Leeds",
            "state": "WY",
            "country": "UK",
            "postalCode": "LS1",
        }
        created = customers.post(
            "/api/customers",
            json={
                "firstName": "Ada",
                "lastName": "Lovelace",
                "creditLimit": "100.00",
                "shippingAddress": address,
            },
        )
        assert created.status_code == 201, created.text
        customer = created.json()
        order = orders.post(
            "/api/orders",
            json={
                "customerId": customer["id"],
                "shippingAddress": address,
                "items": [
                    {
                        "productId": str(uuid.uuid4()),
                        "productName": "Widget",
                        "productPrice": "7.50",
                        "quantity": 3,
                    }
                ],
            },
        )
        assert order.status_code == 202, order.text

        moved = {**address, "street": "2 New Road"}
        update = customers.put(
            created.headers["Location"],
            headers={"If-Match": created.headers["ETag"]},
            json={
                "firstName": "Ada",
                "lastName": "Lovelace",
                "creditLimit": "100.00",
                "shippingAddress": moved,
            },
        )
        assert update.status_code == 200, update.text

        def order_moved():
            body = orders.get(order.headers["Location"]).json()
            return body["shippingAddress"]["street"] == "2 New Road" and body

        body = wait_for(order_moved, 60, f"the order to follow the customer; logs in {tmp_path}")
        assert body["shippingAddress"] == moved
        assert orders.get("/api/customers").status_code == 404  # not hosted by orders
