"""The deployment of bench/e2e.py: the registry, customers and orders roles as separate
processes with their own databases (tests/support/deployment.py), set up before the phases
and torn down after them."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import sys
import uuid
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import psycopg

from bench.common import say
from bench.e2e_measure import CpuTracker
from bench.e2e_report import print_profiles, summary
from tests.support.deployment import RELAY, Deployment
from tests.support.postgres import drop_databases, recreate_databases, server_settings
from tests.support.processes import Service

PYTHON = sys.executable
ROLES = {"registry": ["schema_registry"], "customers": ["customers"], "orders": ["orders"]}
READY_TIMEOUT_S = 60.0
WORKER = [
    PYTHON,
    "-m",
    "celery",
    "-A",
    "bench.e2e_worker",
    "worker",
    "--pool=solo",
    "--concurrency=1",
    "--without-gossip",
    "--without-mingle",
    "--without-heartbeat",
    "--loglevel=WARNING",
]
SERVER_SETTINGS = ("fsync", "synchronous_commit", "shared_buffers")
PHASE_CUSTOMERS = ("warmup", "fixed", "saturation", "relay", "probe")


class Run:
    """One run of the benchmark: its :class:`Deployment` of the three roles, its options and
    work folder, the consumer's commit clock, the CPU tracker and kept connections to the
    databases it observes."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args, self.workdir = args, workdir
        self.commit_log = workdir / "commits.log"
        self.deployment = Deployment(
            ROLES,
            args.broker,
            workdir,
            server=args.postgres,
            prefix=args.db_prefix,
            namespace=f"edn_bench_e2e_{secrets.token_hex(4)}",
            keep_databases=args.keep_databases,
            EDN_LOG_LEVEL="WARNING",
            EDN_BUS_IN_PROCESS="0",
            EDN_BUS_SWEEP_SECONDS=None,  # the product's own
            EDN_BUS_RELAY_BATCH=str(args.relay_batch),
            EDN_BUS_MESSAGE_BATCH=str(args.message_batch),
            EDN_SCHEMA_VALIDATION="0" if args.no_validation else "1",
            EDN_BENCH_COMMIT_LOG=str(self.commit_log),
            GUNICORN_WORKERS="1",
        )
        self.server, self.namespace = self.deployment.server, self.deployment.namespace
        self.children = self.deployment.processes
        self.raw_database = f"{args.db_prefix}_raw"
        self._connections: dict[str, psycopg.Connection] = {}
        self.cpu = CpuTracker(self)

    # databases

    def create_databases(self) -> str:
        version = self.deployment.create_databases()
        recreate_databases(self.server, [self.raw_database])
        return f"PostgreSQL {version} " + server_settings(self.server, *SERVER_SETTINGS)

    def drop_databases(self) -> None:
        self.close_connections()
        self.deployment.drop_databases()
        if self.deployment.created and not self.args.keep_databases:
            drop_databases(self.server, [self.raw_database])

    def query(self, role: str, statement: str, params: tuple = ()) -> list[tuple]:
        """Run ``statement`` on the role's service database, over one kept connection."""
        conn = self._connections.get(role)
        if conn is None or conn.closed:
            name = self.deployment.databases[role, ROLES[role][0]]
            conn = self._connections[role] = psycopg.connect(
                f"{self.server}/{name}", autocommit=True, connect_timeout=10
            )
        return conn.execute(statement, params).fetchall()

    def close_connections(self) -> None:
        for conn in self._connections.values():
            with contextlib.suppress(psycopg.Error):
                conn.close()
        self._connections.clear()

    # processes

    def manage(self, role: str, *args: str) -> str:
        return self.deployment.manage(role, *args)

    def roles_helper(self, role: str, *args: str, timeout: float = 600) -> dict:
        out = self.workdir / f"result-{uuid.uuid4().hex[:8]}.json"
        command = [PYTHON, "bench/e2e_roles.py", *args, "--out", str(out)]
        self.deployment.run(role, *command, timeout=timeout)
        return json.loads(out.read_text())

    def start(self, role: str, name: str, command: list[str]) -> Service:
        if self.args.profile and name in ("relay", "worker"):
            profile = Path(self.args.profile).resolve() / f"{name}-{len(self.children)}.prof"
            command = [command[0], "-m", "cProfile", "-o", str(profile), *command[1:]]
        return self.deployment.start(role, name, *command)

    def serve_registry(self) -> None:
        self.deployment.serve("registry", READY_TIMEOUT_S)

    def start_relay(self) -> Service:
        relay = self.start("customers", "relay", RELAY)
        listening = partial(self.deployment.relay_listening, "customers")
        return relay.wait_ready(listening, READY_TIMEOUT_S, "the relay to LISTEN")

    def start_worker(self) -> Service:
        worker = self.start("orders", "worker", WORKER)
        consuming = partial(self.deployment.consumers, "orders")
        return worker.wait_ready(
            consuming, READY_TIMEOUT_S, "the Celery worker to consume its queue"
        )

    def stop_all(self) -> None:
        self.deployment.stop_all()

    def delete_broker_objects(self) -> None:
        self.deployment.delete_broker_objects("raw")


def set_up(d: Run, phases: Sequence[str] = PHASE_CUSTOMERS) -> tuple[dict[str, Path], list[dict]]:
    """Databases, schemas, the registry and the queue; a file of customers per phase (one of
    them ``fixed``), each customer with one open order; the envelopes of the raw baselines."""
    args, workdir = d.args, d.workdir
    say(f"[setup] databases {args.db_prefix}_* on {d.server}; broker namespace {d.namespace}")
    pg = d.create_databases()
    say(summary(pg, args.broker))
    if os.getloadavg()[0] > 0.7:
        say("[warning] the machine is busy (load average above); figures will suffer")
    say(f"[setup] logs in {workdir}")
    for role in ROLES:
        say(f"[setup] {role}: manage.py migrate_all")
        d.manage(role, "migrate_all")
    say("[setup] registry: gunicorn; customers, orders: manage.py edn_schemas register")
    d.serve_registry()
    for role in ("customers", "orders"):
        d.manage(role, "edn_schemas", "register")
    say("[setup] orders: manage.py edn_broker")
    d.manage("orders", "edn_broker")
    groups = {}
    for name in phases:
        path = workdir / f"customers-{name}.txt"
        path.write_text("\n".join(str(uuid.uuid4()) for _ in range(args.customers)))
        groups[name] = path
    say(f"[setup] orders: one open order for each of {len(phases) * args.customers} customers")
    everyone = workdir / "customers-all.txt"
    everyone.write_text("\n".join(p.read_text() for p in groups.values()))
    d.roles_helper("orders", "seed-orders", "--customers", str(everyone))
    say(f"[setup] building {args.raw_messages} envelopes for the raw baselines")
    bodies = d.roles_helper(
        "customers",
        "sample",
        "--customers",
        str(groups["fixed"]),
        "--count",
        str(args.raw_messages),
    )["bodies"]
    say(f"  envelope size {len(bodies[0]['envelope'].encode())} bytes")
    return groups, bodies


def tear_down(d: Run, keep_logs: bool) -> None:
    """Stop every process, delete the broker objects, drop the databases (also after an error
    or Ctrl-C); print the profiles; remove the logs unless they are to be kept."""
    say("[teardown] stopping processes, deleting broker objects, dropping databases")
    d.stop_all()
    try:
        d.delete_broker_objects()
    except Exception as error:
        say(f"[teardown] could not delete the broker objects: {error}")
    try:
        d.drop_databases()
    except psycopg.Error as error:
        say(f"[teardown] could not drop the bench databases: {error}")
    if d.args.profile:
        print_profiles(Path(d.args.profile))
    if keep_logs:
        say(f"[teardown] logs kept in {d.workdir}")
    else:
        shutil.rmtree(d.workdir, ignore_errors=True)
