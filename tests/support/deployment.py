"""Services of one run as separate OS processes, each with its own PostgreSQL databases and
environment, events over a real broker: the one deployment of the multi-process tests and of
the benchmarks that run services (bench/e2e.py, bench/sagas_processes.py)."""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
from kombu import Connection, Exchange, Queue

from edn_core.revocations import APP as REVOCATIONS
from tests.support.postgres import PG, drop_databases, postgres_or_skip, recreate_databases
from tests.support.processes import ROOT, Service, free_port, http_ok, wait_for

__all__ = [
    "PG",
    "RELAY",
    "SAGA_SERVICES",
    "Deployment",
    "free_port",
    "postgres_or_skip",
    "wait_for",
    "worker_command",
]

PYTHON = sys.executable
# the create-order saga's services, each its own processes and databases
SAGA_SERVICES = {
    "registry": ["schema_registry"],
    "customers": ["customers"],
    "inventory": ["inventory"],
    "orders": ["orders"],
    "sagas": ["sagas"],
}
RELAY = [PYTHON, "manage.py", "edn_relay"]
GUNICORN = [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
READY_TIMEOUT_S = 180.0  # a loaded machine starts slowly: the deadline fails only a stuck start
# the caller's own settings of these never reach a service: each gets its own
OWN_VARIABLES = ("DJANGO_", "EDN_", "CELERY_", "GUNICORN_")
_static: list[Path] = []  # the static files, once collected in this run (a test session)


class Deployment:
    """Databases, environments, broker namespace and processes of one multi-service run.

    ``services`` maps each service to its apps; each gets a port and a database per alias,
    ``<prefix>_<service>_<alias>``, on ``server``, which it reaches at ``postgres_url`` (a
    :class:`TcpProxy` in front of it, to cut it). ``env`` overrides the services' environment
    (None: unset). As a context manager it creates the databases, and at the end stops every
    process, deletes its broker objects and drops the databases (unless ``keep_databases``)."""

    def __init__(
        self,
        services: dict[str, list[str]],
        broker_url: str,
        logs: Path,
        *,
        server: str = PG,
        postgres_url: str | None = None,
        prefix: str | None = None,
        namespace: str | None = None,
        keep_databases: bool = False,
        **env: str | None,
    ) -> None:
        run = uuid.uuid4().hex[:8]
        self.services, self.broker_url, self.logs = services, broker_url, logs
        self.server = server.rstrip("/")
        self.postgres_url = (postgres_url or server).rstrip("/")
        self.prefix, self.namespace = prefix or f"edn_e2e_{run}", namespace or f"e2e{run}"
        self.keep_databases, self.created = keep_databases, False
        self.ports = {name: free_port() for name in services}
        self.processes: list[Service] = []
        self.databases = {
            (service, alias): f"{self.prefix}_{service}_{alias}"
            for service, apps in services.items()
            for alias in ("default", *apps)
        }
        # tests sweep the outbox every second: a missed wake-up costs a second, not five
        self.overrides = {"EDN_BUS_SWEEP_SECONDS": "1", "GUNICORN_WORKERS": "2", **env}
        self.keys = secrets.token_urlsafe(50), secrets.token_urlsafe(50)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def env(self, service: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.endswith("_DATABASE_URL") and not k.startswith(OWN_VARIABLES)
        }
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY=self.keys[0],
            EDN_JWT_SIGNING_KEY=self.keys[1],
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            DJANGO_SECURE_COOKIES="0",
            EDN_SERVICES=",".join(self.services[service]),
            EDN_DATA_DIR=str(self.logs / service),
            EDN_BUS_TRANSPORT="celery",
            CELERY_BROKER_URL=self.broker_url,
            EDN_BROKER_NAMESPACE=self.namespace,
            GUNICORN_BIND=f"127.0.0.1:{self.ports[service]}",
            GUNICORN_ACCESSLOG="",
            GUNICORN_WORKER_TMP_DIR="/tmp",
            PYTHONUNBUFFERED="1",
        )
        for alias in ("default", *self.services[service]):
            name = self.databases[service, alias]
            env[f"{alias.upper()}_DATABASE_URL"] = f"{self.postgres_url}/{name}"
        if "registry" in self.services and service != "registry":
            env["EDN_SCHEMA_REGISTRY_URL"] = self.url("registry")
        for name, value in self.overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def database(self, service: str, alias: str) -> psycopg.Connection:
        """A direct connection to a service's database, to observe it from outside."""
        return psycopg.connect(f"{self.server}/{self.databases[service, alias]}", autocommit=True)

    def run(self, service: str, *command: str, timeout: float = 300) -> str:
        """Run ``command`` to its end in the service's environment; return its output."""
        env = self.env(service)
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            raise RuntimeError(f"{service}: {' '.join(command[1:])} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def manage(self, service: str, *args: str, timeout: float = 300) -> str:
        return self.run(service, PYTHON, "manage.py", *args, timeout=timeout)

    def manage_many(self, service: str, *commands: Sequence[str], then: str = "") -> str:
        """Run management ``commands`` (each ``[name, *args]``) one after the other, then the
        Python code ``then``, in one process of the service: one Django start-up, not one
        per command. Return what they printed; raise at the first that fails."""
        calls = "".join(f"call_command(*{list(command)!r})\n" for command in commands)
        code = f"from django.core.management import call_command\n{calls}{then}"
        return self.manage(service, "shell", "--no-imports", "-c", code)

    def manage_each(self, commands: dict[str, list[Sequence[str]]]) -> dict[str, str]:
        """:meth:`manage_many` for each service of ``commands``, all at once."""
        with ThreadPoolExecutor(len(commands)) as pool:
            runs = {s: pool.submit(self.manage_many, s, *c) for s, c in commands.items()}
            return {service: run.result() for service, run in runs.items()}

    def start(self, service: str, name: str, *command: str) -> Service:
        """Start ``command`` in the service's environment, logging to ``<service>-<name>.log``."""
        log = self.logs / f"{service}-{name}.log"
        process = Service(name, list(command), self.env(service), log)
        self.processes.append(process)
        return process.start()

    def serve(self, service: str, timeout: float = READY_TIMEOUT_S) -> Service:
        """Start the service's gunicorn; return once ``/readyz`` answers 200."""
        return self.serve_all(service, timeout=timeout)[0]

    def serve_all(self, *services: str, timeout: float = READY_TIMEOUT_S) -> list[Service]:
        """:meth:`serve` for each of ``services``, all started before the first is waited for.
        Each serves the static files (WhiteNoise, DEBUG off) from its data directory."""
        for service in services:
            served = self.logs / service / "static"  # STATIC_ROOT: EDN_DATA_DIR/static
            if not served.exists():
                served.parent.mkdir(parents=True, exist_ok=True)
                served.symlink_to(self.collected_static(), target_is_directory=True)
        webs = [self.start(service, "web", *GUNICORN) for service in services]
        for service, web in zip(services, webs, strict=True):
            ready = f"{self.url(service)}/readyz"
            web.wait_ready(lambda r=ready: http_ok(r), timeout, f"{ready}; see {self.logs}")
        return webs

    def collected_static(self) -> Path:
        """The static files, collected once per run as ``deploy/local/setup`` collects them:
        ``collectstatic`` in a process hosting every app (a service installs only its own)."""
        if not _static:
            root = Path(tempfile.mkdtemp(prefix="edn-static-"))
            atexit.register(shutil.rmtree, root, ignore_errors=True)
            env = {**self.env(next(iter(self.services))), "EDN_SERVICES": "all"}
            env["EDN_DATA_DIR"] = str(root)
            command = [PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"]
            done = subprocess.run(
                command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
            )
            if done.returncode != 0:
                raise RuntimeError(f"collectstatic failed:\n{done.stderr[-3000:]}")
            _static.append(root / "static")
        return _static[0]

    def relay_listening(self, service: str) -> bool:
        """Whether a relay of the service LISTENs for outbox commits (so a commit wakes it)."""
        database = self.databases[service, self.services[service][0]]
        query = "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND query = 'LISTEN edn_outbox'"
        with psycopg.connect(f"{self.server}/postgres", autocommit=True) as conn:
            return conn.execute(query, (database,)).fetchone() is not None

    def consumers(self, app: str) -> int:
        """Consumers of the app's queue (RabbitMQ: 0 until a worker consumes it)."""
        with Connection(self.broker_url, connect_timeout=5) as conn:
            queue = Queue(f"{self.namespace}.{app}", durable=True)
            return queue(conn.default_channel).queue_declare(passive=True).consumer_count

    def create_databases(self) -> str:
        version = recreate_databases(self.server, list(self.databases.values()))
        self.created = True
        return version

    def stop_all(self) -> None:
        for process in self.processes:
            process.terminate()  # all at once, then wait for each
        for process in reversed(self.processes):
            process.stop()

    def delete_broker_objects(self, *queues: str) -> None:
        """Delete the namespace's exchange and queues (every app's, each service's copy of the
        token revocations', and ``queues``)."""
        apps = [app for hosted in self.services.values() for app in hosted]
        apps += [f"{REVOCATIONS}.{'-'.join(hosted)}" for hosted in self.services.values()]
        with Connection(self.broker_url, connect_timeout=5) as conn:
            for name in (*apps, *queues):
                with contextlib.suppress(Exception):  # a queue nobody declared
                    Queue(f"{self.namespace}.{name}")(conn.channel()).delete()
            with contextlib.suppress(Exception):
                Exchange(f"{self.namespace}.events", type="topic")(conn.channel()).delete()

    def drop_databases(self) -> None:
        if self.created and not self.keep_databases:
            drop_databases(self.server, list(self.databases.values()))

    def __enter__(self) -> Deployment:
        self.create_databases()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_all()
        with contextlib.suppress(Exception):  # the broker may be cut away by the test
            self.delete_broker_objects()
        self.drop_databases()


def worker_command(name: str) -> list[str]:
    """A Celery worker with a unique node name (its control queue is exclusive per name)."""
    options = ["--pool=solo", "--without-gossip", "--without-mingle", "--loglevel=INFO"]
    node = f"--hostname={name}-{uuid.uuid4().hex[:6]}@%h"
    return [PYTHON, "-m", "celery", "-A", "config.celery", "worker", *options, node]
