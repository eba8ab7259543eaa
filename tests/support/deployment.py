"""Start apps as separate OS processes with their own PostgreSQL databases (test support)."""

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

ROOT = Path(__file__).resolve().parents[2]
PG = os.environ.get("EDN_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_or_skip() -> None:
    try:
        psycopg.connect(f"{PG}/postgres", connect_timeout=3).close()
    except psycopg.Error as error:
        if REQUIRE_SERVICES:
            pytest.fail(f"EDN_REQUIRE_SERVICES=1 but PostgreSQL is unreachable: {error}")
        pytest.skip(f"PostgreSQL is unreachable: {error}")


class Deployment:
    """Databases, environments and processes of one multi-service run."""

    def __init__(
        self,
        services: dict[str, list[str]],
        broker_url: str,
        logs: Path,
        *,
        postgres_url: str = PG,
        **env: str,
    ) -> None:
        """``postgres_url``: the server the services reach (a :class:`TcpProxy` in front of
        PostgreSQL, to cut it); the test's own connections always go to PostgreSQL itself."""
        self.run = uuid.uuid4().hex[:8]
        self.services, self.broker_url, self.logs, self.extra_env = services, broker_url, logs, env
        self.postgres_url = postgres_url
        self.ports = {name: free_port() for name in services}
        self.processes: list[subprocess.Popen] = []
        self.databases = [
            f"edn_e2e_{self.run}_{svc}_{alias}"
            for svc, apps in services.items()
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
            EDN_SERVICES=",".join(self.services[service]),
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
        for alias in ("default", *self.services[service]):
            name = f"edn_e2e_{self.run}_{service}_{alias}"
            env[f"{alias.upper()}_DATABASE_URL"] = f"{self.postgres_url}/{name}"
        if "registry" in self.services and service != "registry":
            env["EDN_SCHEMA_REGISTRY_URL"] = self.url("registry")
        env.update(self.extra_env)
        return env

    def database(self, service: str, alias: str) -> psycopg.Connection:
        """A direct connection to a service's database, to observe it from the test."""
        name = f"edn_e2e_{self.run}_{service}_{alias}"
        return psycopg.connect(f"{PG}/{name}", autocommit=True)

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

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL ``process`` (no chance to clean up) and reap it."""
        process.kill()
        process.wait(timeout=30)

    def serve(self, service: str) -> None:
        web = self.start(
            service,
            "web",
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "config/gunicorn.py",
            "config.wsgi",
        )

        def ready() -> bool:
            assert web.poll() is None, f"{service} exited; see {self.logs}"
            try:
                return httpx.get(f"{self.url(service)}/readyz", timeout=10).status_code == 200
            except httpx.TransportError:
                return False

        # a loaded machine starts gunicorn slowly: the deadline only fails a stuck start
        wait_for(ready, 180, f"{service} to become ready; see {self.logs}")

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


def worker_command(name: str) -> list[str]:
    """A Celery worker with a unique node name (its control queue is exclusive per name)."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config.celery",
        "worker",
        "--pool=solo",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=INFO",
        f"--hostname={name}-{uuid.uuid4().hex[:6]}@%h",
    ]


RELAY = [sys.executable, "manage.py", "edn_relay"]


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
