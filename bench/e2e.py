"""End-to-end events through outbox, relay, RabbitMQ and inbox, beside raw kombu and PostgreSQL.

A benchmark, not a test. Services run as separate OS processes with their own PostgreSQL
databases and environment, as in tests/test_services_e2e.py:

* **registry**: gunicorn (1 sync worker) hosting ``schema_registry``; schema validation is on
  at publish and consume (``--no-validation`` turns it off, for comparison);
* **customers**: one ``manage.py edn_relay`` (woken by LISTEN/NOTIFY), publishing with
  ``EDN_BUS_TRANSPORT=celery`` to the topic exchange ``<namespace>.events`` with pipelined
  publisher confirms; the load is written into its outbox by bench/e2e_roles.py with
  ``write_outbox`` inside a transaction on the customers alias, as a command handler does;
* **orders**: one Celery worker (``--pool=solo --concurrency=1``) consuming ``<namespace>.orders``
  through ``EventConsumerStep``: what one read brought goes through ``deliver_batch()`` --
  schema check, inbox rows, latest-wins checkpoints, the handler moving each customer's open
  order, in one transaction -- commits, then acks. It runs the app of bench/e2e_worker.py:
  ``config.celery``'s app plus a clock that records when each ``deliver_batch()`` returned,
  i.e. when the consumer's transaction had committed.

Every event is a real ``v1.CustomerAddressUpdated`` for one of ``--customers`` customers per
phase, each with one open order (seeded through ``PlaceOrder``). Latency of an event = the
consumer's commit time - the envelope ``time`` (the moment the event was created, just before
the producer's transaction). All processes share this machine's clock.

Phases, in this order:

0. ``deliver()`` alone (diagnostic): envelopes through ``deliver()`` in a loop in one orders
   process, without broker and Celery (bench/e2e_roles.py ``deliver``): wall and CPU per event,
   time inside the database driver, the SQL of one delivery;
1. baselines: raw one-row PostgreSQL commits (INSERT + COMMIT per transaction, one psycopg
   connection); raw kombu publish of the same envelope bodies (persistent, to a plain durable
   queue through the default exchange) without confirms, with per-message confirms
   (``confirm_publish``), and with pipelined confirms per 200 (as the relay does); raw kombu
   consume (prefetch 50, ack each, as the worker step);
2. fixed load: ``--rate`` events/s for ``--seconds`` into the outbox, relay and worker running,
   after a warm-up of 300 events at 100/s through the same path (not measured);
3. saturation, end to end: ``--saturation-events`` written in one transaction, relay and worker
   running; events/s = events / (last consumer commit - that transaction's commit);
4. relay alone: the worker stopped, the same again; events/s until the last ``sent_at``;
5. consumer alone: the worker started on the full queue; events/s between its first and last
   commit;
6. the baselines again (the VM drifts; ratios use the mean of before and after).

Each phase also reports CPU time per event of relay, worker, PostgreSQL, RabbitMQ and the
helpers, read from /proc (Linux).

Targets (from the issue): relay alone (with confirms) >= 0.5x raw publish without confirms;
end-to-end saturation >= 1.5x the raw one-row PostgreSQL commit rate; p99 <= 100 ms at
500 events/s offered.

Run from the repository root (PostgreSQL at 127.0.0.1:5432 user postgres trust; RabbitMQ at
127.0.0.1:5672 guest/guest)::

    .venv/bin/python bench/e2e.py

It drops and recreates the databases ``edn_bench_e2e_*`` (``--db-prefix``), uses a fresh broker
namespace ``edn_bench_e2e_<random>``, and at the end (also on error or Ctrl-C) stops every process
it started, deletes its exchange and queues and drops the databases (unless
``--keep-databases``). ``--profile DIR`` runs relay and worker under cProfile and prints where
their time went (figures are then slower; do not quote them). Exit status: 0 every target met,
1 a target missed, 2 events lost or failed, or the setup broke.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import pstats
import secrets
import shutil
import socket
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

import psycopg
from kombu import Connection, Consumer, Producer, Queue

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from bench.common import percentile, stop_cleanly_on_sigterm  # noqa: E402
from tests.support.deployment import Deployment  # noqa: E402
from tests.support.postgres import drop_databases, recreate_databases, server_settings  # noqa: E402
from tests.support.processes import Service, machine_summary, wait_for  # noqa: E402

PYTHON = sys.executable
ROLES = {"registry": ["schema_registry"], "customers": ["customers"], "orders": ["orders"]}
CONSUMER = "orders.update_shipping_address_of_open_orders"
CONTENT_TYPE = "application/cloudevents+json"
READY_TIMEOUT_S = 60.0
WARMUP_RATE, WARMUP_SECONDS = 100, 3
PIPELINE = 200  # messages per confirm round of the pipelined baseline (the relay's batch)
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
LIBRARIES = {"Django": "django", "Celery": "celery", "kombu": "kombu", "psycopg": "psycopg"}
SERVER_SETTINGS = ("fsync", "synchronous_commit", "shared_buffers")


def say(message: str) -> None:
    print(message, flush=True)


# --- statistics -----------------------------------------------------------------------------


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    return (
        f"p50 {percentile(ordered, 0.5) * 1e3:7.1f} ms  p99 {percentile(ordered, 0.99) * 1e3:7.1f}"
        f" ms  max {ordered[-1] * 1e3 if ordered else math.nan:7.1f} ms"
    )


@dataclass
class Phase:
    name: str
    events: int = 0
    rate: float = math.nan  # events per second, as the phase defines it
    latency: list[float] = field(default_factory=list)  # created -> consumer commit, seconds
    notes: list[str] = field(default_factory=list)
    offered_rate: float = math.nan  # fixed load: the rate the producer achieved
    after_id: int = 0  # the last outbox id before the phase
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process group
    cpu_events: int = 0  # events the CPU seconds were spent on


# --- CPU accounting (Linux /proc) -----------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> tuple[tuple[int, int], float] | None:
    """((pid, start time), user + system CPU seconds) of one process; None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return (pid, int(fields[19])), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def pids_named(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
    return pids


CPU_GROUPS = ("relay", "worker", "postgres", "rabbitmq", "helpers", "bench")


class CpuTracker:
    """CPU seconds per process of each group, sampled about once a second while phases run, so
    that a process which exits in between (a PostgreSQL backend whose connection Django recycles
    after ``CONN_MAX_AGE``) still counts up to its last sample."""

    def __init__(self, run: Run) -> None:
        self.d = run
        self.probed = 0  # inbox rows of the in-process probe (events not in the outbox)
        self.seen: dict[str, dict] = {group: {} for group in CPU_GROUPS}
        self.last = 0.0

    def sample(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < 1.0:
            return
        self.last = now
        pids = {"postgres": pids_named("postgres"), "rabbitmq": pids_named("beam.smp")}
        for child in self.d.children:
            if child.name in ("relay", "worker") and child.alive():
                pids.setdefault(child.name, []).append(child.pid)
        for group, members in pids.items():
            for pid in members:
                found = process_cpu(pid)
                if found is not None:
                    self.seen[group][found[0]] = found[1]
        own = os.times()
        self.seen["helpers"][0] = own.children_user + own.children_system  # producer, preload
        self.seen["bench"][0] = own.user + own.system

    def snapshot(self) -> dict:
        self.sample(force=True)
        snap: dict = {group: dict(cpu) for group, cpu in self.seen.items()}
        snap.update(wall=time.monotonic(), time=time.time())
        return snap


def cpu_delta(start: dict, end: dict) -> dict[str, float]:
    """CPU seconds spent between two snapshots, per group (of a process that exited, up to its
    last sample; the backends of the short-lived helper processes are mostly missed)."""
    delta = {}
    for group in CPU_GROUPS:
        before = start[group]
        delta[group] = sum(max(0.0, cpu - before.get(key, 0.0)) for key, cpu in end[group].items())
    delta["wall"] = end["wall"] - start["wall"]
    return delta


# --- the deployment -------------------------------------------------------------------------


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

    def env(self, role: str) -> dict[str, str]:
        return self.deployment.env(role)

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
        relay = self.start("customers", "relay", [PYTHON, "manage.py", "edn_relay"])
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


# --- baselines ------------------------------------------------------------------------------


@dataclass
class Baselines:
    pg_commit: float = math.nan
    publish_plain: float = math.nan
    publish_plain_queued: float = math.nan
    publish_each_confirm: float = math.nan
    publish_pipelined: float = math.nan
    consume: float = math.nan


BASELINES = {
    "pg_commit": "raw PostgreSQL one-row commits (INSERT+COMMIT)",
    "publish_plain": "raw kombu publish, no confirms (client side)",
    "publish_plain_queued": "raw kombu publish, no confirms (until queued)",
    "publish_each_confirm": "raw kombu publish, per-message confirms",
    "publish_pipelined": f"raw kombu publish, confirms pipelined per {PIPELINE}",
    "consume": "raw kombu consume (prefetch 50, ack each)",
}


def pg_commit_rate(url: str, body: str, seconds: float) -> float:
    with psycopg.connect(url, connect_timeout=10) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_row (id bigserial PRIMARY KEY, body text)")
        conn.commit()
        count, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            conn.execute("INSERT INTO bench_row (body) VALUES (%s)", (body,))
            conn.commit()
            count += 1
    return count / elapsed


def _publish_args(body: dict, queue: str) -> dict:
    return {
        "routing_key": queue,
        "content_type": CONTENT_TYPE,
        "content_encoding": "utf-8",
        "delivery_mode": 2,
        "retry": False,
        "message_id": body["id"],
        "serializer": None,
    }


def kombu_publish(broker: str, queue: Queue, bodies: list[dict], mode: str) -> tuple[float, float]:
    """Publish every body; return (messages/s until the last publish returned, until queued)."""
    options = {"confirm_publish": True} if mode == "each" else {}
    with Connection(broker, connect_timeout=5, transport_options=options) as conn:
        channel = conn.channel()
        queue(channel).declare()
        queue(channel).purge()
        producer = Producer(channel)
        singles: set[int] = set()
        upto = 0  # every tag up to this one is acked

        def on_ack(tag, multiple):
            nonlocal upto
            if multiple:
                upto = max(upto, tag)
            else:
                singles.add(tag)

        def all_acked(last: int) -> bool:
            return all(tag in singles for tag in range(upto + 1, last + 1))

        if mode == "pipelined":
            channel.confirm_select()
            channel.events["basic_ack"].add(on_ack)
        started = time.perf_counter()
        if mode == "pipelined":
            for first in range(0, len(bodies), PIPELINE):
                chunk = bodies[first : first + PIPELINE]
                for body in chunk:
                    producer.publish(body["envelope"], **_publish_args(body, queue.name))
                last, deadline = first + len(chunk), time.monotonic() + 30
                while not all_acked(last) and time.monotonic() < deadline:
                    conn.drain_events(timeout=10)
                if not all_acked(last):
                    raise RuntimeError("pipelined confirms: broker did not ack in 30 s")
        else:
            for body in bodies:
                producer.publish(body["envelope"], **_publish_args(body, queue.name))
        published = time.perf_counter() - started
        deadline = time.monotonic() + 60
        while queue(channel).queue_declare(passive=True).message_count < len(bodies):
            if time.monotonic() > deadline:
                raise RuntimeError(f"raw publish ({mode}): not every message reached the queue")
            time.sleep(0.005)
        queued = time.perf_counter() - started
    return len(bodies) / published, len(bodies) / queued


def kombu_consume(broker: str, queue: Queue, count: int) -> float:
    """Consume ``count`` messages already in ``queue`` as the worker step does (ack each)."""
    got = 0

    def on_message(message):
        nonlocal got
        message.body  # noqa: B018  read the body, as the worker step does
        message.ack()
        got += 1

    with Connection(broker, connect_timeout=5) as conn:
        channel = conn.channel()
        with Consumer(channel, queues=[queue], on_message=on_message, prefetch_count=50):
            started, deadline = time.perf_counter(), time.monotonic() + 120
            while got < count and time.monotonic() < deadline:
                with contextlib.suppress(TimeoutError, socket.timeout):
                    conn.drain_events(timeout=1)
            elapsed = time.perf_counter() - started
    if got < count:
        raise RuntimeError(f"raw consume: got {got} of {count} messages in 120 s")
    return count / elapsed


def measure_baselines(deployment: Run, bodies: list[dict], label: str) -> Baselines:
    args, result = deployment.args, Baselines()
    raw = f"{deployment.server}/{deployment.raw_database}"
    queue = Queue(f"{deployment.namespace}.raw", durable=True, auto_delete=False)
    say(f"[{label}] raw PostgreSQL one-row commits for {args.pg_seconds:g}s")
    result.pg_commit = pg_commit_rate(raw, bodies[0]["envelope"], args.pg_seconds)
    say(f"  {result.pg_commit:8.0f} commits/s")
    say(f"[{label}] raw kombu publish of {len(bodies)} envelopes, no confirms; then consume")
    result.publish_plain, result.publish_plain_queued = kombu_publish(
        args.broker, queue, bodies, "none"
    )
    result.consume = kombu_consume(args.broker, queue, len(bodies))
    say(
        f"  publish {result.publish_plain:8.0f} msg/s (queued {result.publish_plain_queued:.0f}),"
        f" consume {result.consume:8.0f} msg/s"
    )
    say(f"[{label}] raw kombu publish, confirms pipelined per {PIPELINE}")
    result.publish_pipelined = kombu_publish(args.broker, queue, bodies, "pipelined")[0]
    say(f"  {result.publish_pipelined:8.0f} msg/s")
    each = bodies[: args.confirm_messages]
    say(f"[{label}] raw kombu publish of {len(each)} envelopes, per-message confirms")
    result.publish_each_confirm = kombu_publish(args.broker, queue, each, "each")[0]
    say(f"  {result.publish_each_confirm:8.0f} msg/s")
    with Connection(args.broker, connect_timeout=5) as conn:
        queue(conn.channel()).purge()
    return result


# --- event phases ---------------------------------------------------------------------------


class Observer:
    """Reads the outbox, the inbox and the worker's commit clock."""

    def __init__(self, run: Run) -> None:
        self.d = run
        self.probed = 0  # inbox rows of the in-process probe (events not in the outbox)

    def outbox_counts(self, after_id: int) -> tuple[int, int]:
        return self.d.query(
            "customers",
            "SELECT count(*), count(sent_at) FROM customers_outboxmessage WHERE id > %s",
            (after_id,),
        )[0]

    def last_outbox_id(self) -> int:
        return self.d.query(
            "customers", "SELECT coalesce(max(id), 0) FROM customers_outboxmessage"
        )[0][0]

    def inbox_count(self) -> int:
        return self.d.query("orders", "SELECT count(*) FROM orders_inboxentry")[0][0]

    def progress(self, after_id: int, inbox_before: int):
        last = {"t": time.monotonic(), "consumed": inbox_before}

        def line() -> str:
            written, sent = self.outbox_counts(after_id)
            consumed = self.inbox_count()
            now = time.monotonic()
            rate = (consumed - last["consumed"]) / max(now - last["t"], 1e-9)
            last.update(t=now, consumed=consumed)
            return (
                f"written {written:6d}  sent {sent:6d}  consumed {consumed - inbox_before:6d}"
                f"  ({rate:5.0f}/s)"
            )

        return line

    def events(self, after_id: int) -> list[dict]:
        """The phase's events: id, created (envelope time), sent_at, committed, processed_at."""
        rows = self.d.query(
            "customers",
            "SELECT event_id::text, envelope::json->>'time', extract(epoch FROM sent_at)"
            " FROM customers_outboxmessage WHERE id > %s ORDER BY id",
            (after_id,),
        )
        processed = dict(
            self.d.query(
                "orders",
                "SELECT event_id, extract(epoch FROM processed_at) FROM orders_inboxentry",
            )
        )
        commits: dict[str, float] = {}
        if self.d.commit_log.exists():
            for line in self.d.commit_log.read_text().splitlines():
                event_id, _, stamp = line.partition(" ")
                commits.setdefault(event_id, float(stamp))
        events = [
            {
                "id": event_id,
                "created": datetime.fromisoformat(created).timestamp(),
                "sent": float(sent) if sent is not None else math.nan,
                "committed": commits.get(event_id, math.nan),
                "processed": float(processed[event_id]) if event_id in processed else math.nan,
            }
            for event_id, created, sent in rows
        ]
        unsent = sum(1 for e in events if math.isnan(e["sent"]))
        if unsent:
            raise RuntimeError(f"{unsent} events of the phase were never marked sent")
        return events

    def consumed(self, events: list[dict]) -> list[dict]:
        missing = sum(1 for e in events if math.isnan(e["committed"]))
        if missing:
            raise RuntimeError(f"{missing} events have no consumer commit time")
        return events

    def check_outcomes(self) -> list[str]:
        """Every event recorded once by the consumer; applied in order per customer; an event
        left unapplied ('stale', latest-wins) only when a newer one of its customer was
        applied; every order ends at its customer's newest address; nothing failed."""
        problems = []
        written = self.d.query("customers", "SELECT count(*) FROM customers_outboxmessage")[0][0]
        inbox = "orders_inboxentry"
        recorded = self.d.query("orders", f"SELECT count(*) FROM {inbox}")[0][0] - self.probed
        if recorded != written:
            problems.append(f"{written} events written, {recorded} recorded by the consumer")
        for outcome, count in self.d.query(
            "orders", f"SELECT outcome, count(*) FROM {inbox} GROUP BY outcome"
        ):
            if outcome not in ("handled", "stale"):
                problems.append(f"{count} inbox entries with outcome {outcome!r}")
        checks = {
            "applied out of order": f"""SELECT count(*) FROM (SELECT sequence, lag(sequence)
                OVER (PARTITION BY aggregate_id ORDER BY id) AS before FROM {inbox}
                WHERE outcome = 'handled') t WHERE before >= sequence""",
            "stale without a newer applied event": f"""SELECT count(*) FROM {inbox} s
                WHERE outcome = 'stale' AND NOT EXISTS (SELECT 1 FROM {inbox} h WHERE
                h.aggregate_id = s.aggregate_id AND h.outcome = 'handled'
                AND h.sequence > s.sequence)""",
            "orders not at their customer's newest address": f"""SELECT count(*) FROM
                orders_order o JOIN (SELECT aggregate_id, max(sequence) AS newest FROM {inbox}
                GROUP BY aggregate_id) i ON o.customer_id::text = i.aggregate_id
                WHERE o.ship_street <> i.newest || ' Bench Road'""",
        }
        for problem, statement in checks.items():
            if count := self.d.query("orders", statement)[0][0]:
                problems.append(f"{count} {problem}")
        failed = self.d.query("orders", "SELECT count(*) FROM orders_faileddelivery")[0][0]
        if failed:
            problems.append(f"{failed} failed deliveries (or dead letters) in orders")
        return problems

    def outcome_counts(self) -> dict[str, int]:
        return dict(
            self.d.query(
                "orders", "SELECT outcome, count(*) FROM orders_inboxentry GROUP BY outcome"
            )
        )


def _spread(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    return f"{label} {ms(ordered)}"


def warm_up(d: Run, observe: Observer, customers: Path) -> None:
    """Events through the whole path before anything is measured, as a service that has been
    running would have had: connections opened, schemas fetched and validators compiled,
    statements prepared, code paths loaded (the first second of a cold start otherwise
    dominates the fixed load's p99)."""
    events = WARMUP_RATE * WARMUP_SECONDS
    say(f"[warm-up] {events} events at {WARMUP_RATE}/s through relay and worker (not measured)")
    before = observe.inbox_count()
    d.roles_helper(
        "customers",
        "offer",
        "--customers",
        str(customers),
        "--rate",
        str(WARMUP_RATE),
        "--seconds",
        str(WARMUP_SECONDS),
    )
    wait_for(lambda: observe.inbox_count() >= before + events, 60, "the warm-up events")


def run_fixed(d: Run, observe: Observer, customers: Path) -> Phase:
    args = d.args
    phase = Phase(f"fixed load {args.rate:g} events/s for {args.seconds:g}s")
    say(f"[fixed] offering {args.rate:g} events/s for {args.seconds:g}s (relay + worker running)")
    after, inbox_before = observe.last_outbox_id(), observe.inbox_count()
    total = round(args.rate * args.seconds)
    out = d.workdir / "offer.json"
    cpu_start = d.cpu.snapshot()
    producer = d.start(
        "customers",
        "producer",
        [
            PYTHON,
            "bench/e2e_roles.py",
            "offer",
            "--customers",
            str(customers),
            "--rate",
            str(args.rate),
            "--seconds",
            str(args.seconds),
            "--out",
            str(out),
        ],
    )
    line, since = observe.progress(after, inbox_before), time.monotonic()
    wait_for(
        lambda: producer.poll() is not None,
        args.seconds * 3 + 120,
        "the producer",
        progress=line,
        tick=d.cpu.sample,
        since=since,
    )
    if producer.poll() != 0:
        raise RuntimeError(f"the producer failed:\n{producer.tail()}")
    offered = json.loads(out.read_text())
    wait_for(
        lambda: observe.inbox_count() - inbox_before >= offered["events"],
        args.phase_timeout,
        "the consumer to catch up",
        progress=line,
        tick=d.cpu.sample,
        since=since,
    )
    phase.cpu = cpu_delta(cpu_start, d.cpu.snapshot())
    events = observe.consumed(observe.events(after))
    phase.events = phase.cpu_events = len(events)
    created = [e["created"] for e in events]
    committed = [e["committed"] for e in events]
    offered_rate = (len(events) - 1) / (max(created) - min(created))
    phase.rate = len(events) / (max(committed) - min(created))
    phase.latency = [e["committed"] - e["created"] for e in events]
    phase.notes += [
        f"offered {offered_rate:.1f} events/s achieved of {args.rate:g} planned "
        f"({offered['events']}/{total} events in {offered['transactions']} transactions; "
        f"producer behind schedule p99 {offered['lag_p99_ms']:.1f} ms, "
        f"max {offered['lag_max_ms']:.1f} ms)",
        _spread("created -> relay sent_at      ", [e["sent"] - e["created"] for e in events]),
        _spread("created -> inbox processed_at ", [e["processed"] - e["created"] for e in events]),
        _spread("created -> consumer commit    ", phase.latency),
        _worst_seconds(events),
    ]
    phase.offered_rate = offered_rate
    (d.workdir / "fixed-events.json").write_text(json.dumps(events))
    return phase


def _worst_seconds(events: list[dict], top: int = 3) -> str:
    """Where the tail sits in time: the seconds of the phase (by creation) whose events had
    the highest p99 latency, with that p99 -- a burst shows as one or two bad seconds, steady
    contention as many similar ones."""
    start = min(e["created"] for e in events)
    by_second: dict[int, list[float]] = {}
    for e in events:
        by_second.setdefault(int(e["created"] - start), []).append(e["committed"] - e["created"])
    p99s = {}
    for second, values in by_second.items():
        values.sort()
        p99s[second] = values[max(0, math.ceil(0.99 * len(values)) - 1)] * 1e3
    worst = sorted(p99s.items(), key=lambda item: -item[1])[:top]
    median = sorted(p99s.values())[len(p99s) // 2]
    listed = ", ".join(f"{second}s: {value:.0f} ms" for second, value in worst)
    return f"p99 per second of the phase: median {median:.0f} ms; worst {listed}"


def run_preload(d: Run, observe: Observer, customers: Path, *, consumer: bool) -> Phase:
    args = d.args
    name = "saturation, end to end" if consumer else "relay alone (worker stopped)"
    phase = Phase(name)
    say(f"[{name}] {args.saturation_events} events written in one transaction")
    after, inbox_before = observe.last_outbox_id(), observe.inbox_count()
    cpu_start = d.cpu.snapshot()
    loaded = d.roles_helper(
        "customers",
        "preload",
        "--customers",
        str(customers),
        "--count",
        str(args.saturation_events),
    )
    line = observe.progress(after, inbox_before)
    if consumer:
        wait_for(
            lambda: observe.inbox_count() - inbox_before >= loaded["events"],
            args.phase_timeout,
            "every event to be consumed",
            progress=line,
            tick=d.cpu.sample,
        )
    else:
        wait_for(
            lambda: observe.outbox_counts(after)[1] >= loaded["events"],
            args.phase_timeout,
            "every event to be sent",
            progress=line,
            tick=d.cpu.sample,
        )
    phase.cpu = cpu_delta(cpu_start, d.cpu.snapshot())
    events = observe.events(after)
    if consumer:
        observe.consumed(events)
    phase.events = phase.cpu_events = len(events)
    last_sent = max(e["sent"] for e in events)
    relay_rate = len(events) / (last_sent - loaded["committed"])
    phase.notes.append(
        f"relay: {relay_rate:.0f} events/s from the commit to the last sent_at "
        f"({last_sent - loaded['committed']:.2f}s; building and committing the "
        f"{len(events)} rows took {loaded['committed'] - loaded['started']:.2f}s before that)"
    )
    if consumer:
        phase.latency = [e["committed"] - e["created"] for e in events]
        last_commit = max(e["committed"] for e in events)
        phase.rate = len(events) / (last_commit - loaded["committed"])
        phase.notes.append(
            f"end to end: {phase.rate:.0f} events/s from the commit to the last consumer commit"
            f" ({last_commit - loaded['committed']:.2f}s)"
        )
    else:
        phase.rate = relay_rate
    phase.after_id = after
    return phase


def run_consumer_alone(d: Run, observe: Observer, relay_phase: Phase, inbox_before: int) -> Phase:
    phase = Phase("consumer alone (full queue)")
    say(f"[consumer alone] starting the worker on {relay_phase.events} queued events")
    d.start_worker()
    cpu_start = d.cpu.snapshot()  # after the worker's start-up (it already consumes)
    wait_for(
        lambda: observe.inbox_count() - inbox_before >= relay_phase.events,
        d.args.phase_timeout,
        "every queued event to be consumed",
        progress=observe.progress(relay_phase.after_id, inbox_before),
        tick=d.cpu.sample,
    )
    cpu_end = d.cpu.snapshot()
    phase.cpu = cpu_delta(cpu_start, cpu_end)
    events = observe.consumed(observe.events(relay_phase.after_id))
    commits = sorted(e["committed"] for e in events)
    phase.cpu_events = sum(1 for c in commits if cpu_start["time"] <= c <= cpu_end["time"])
    phase.events = len(events)
    phase.rate = (len(commits) - 1) / (commits[-1] - commits[0])
    phase.notes.append(f"{phase.rate:.0f} events/s between its first and last commit")
    return phase


def probe_deliver(d: Run, customers: Path) -> dict:
    """deliver() in a loop in one orders process: the consumer's cost without broker/Celery."""
    count = d.args.deliver_events
    say(f"[deliver() alone] {count} envelopes through deliver() in one orders process")
    sample = d.workdir / "probe-envelopes.json"
    bodies = d.roles_helper(
        "customers", "sample", "--customers", str(customers), "--count", str(count)
    )
    sample.write_text(json.dumps(bodies))
    result = d.roles_helper("orders", "deliver", "--envelopes", str(sample))
    say(
        f"  {1e3 / result['wall_ms']:.0f} events/s: per event {result['wall_ms']:.2f} ms wall, "
        f"{result['cpu_ms']:.2f} ms CPU in Python, {result['backend_cpu_ms']:.2f} ms CPU in its "
        f"PostgreSQL backend; {len(result['statements'])} statements through the ORM:"
    )
    for statement in result["statements"]:
        say(f"    {statement[:110]}{'...' if len(statement) > 110 else ''}")
    driver = result["driver_ms"]
    python = result["wall_ms"] - sum(driver.values())
    say(
        "  wall per event inside the database driver: "
        + ", ".join(f"{name} {value:.2f} ms" for name, value in driver.items())
        + f"; outside it (Python: ORM, dispatch, validation, handler) {python:.2f} ms"
    )
    return result


# --- reporting ------------------------------------------------------------------------------


def summary(pg: str, broker: str) -> str:
    """The machine, the software and the servers, the checkout and the time."""
    with Connection(broker, connect_timeout=5) as conn:
        conn.ensure_connection(max_retries=1)
        props = getattr(conn.connection, "server_properties", {}) or {}
        server = f"{props.get('product', conn.transport_cls)} {props.get('version', '?')}"
    return machine_summary(LIBRARIES, f"{pg}; broker {server}", load_average=True, commit=True)


def report(
    before: Baselines, after: Baselines, phases: list[Phase], fixed: Phase, probe: dict, args
) -> tuple[bool, list[str]]:
    say("\n=== baselines (before / after / mean) ===")
    mean = Baselines()
    for name, label in BASELINES.items():
        a, b = getattr(before, name), getattr(after, name)
        setattr(mean, name, (a + b) / 2)
        say(f"{label:<50} {a:8.0f} {b:8.0f} {(a + b) / 2:8.0f} /s")
    say("\n=== events ===")
    for phase in phases:
        lat = f"  latency {ms(phase.latency)}" if phase.latency else ""
        say(f"{phase.name:<40} {phase.events:6d} events {phase.rate:8.0f} events/s{lat}")
        for note in phase.notes:
            say(f"    {note}")
        if phase.cpu and phase.cpu_events:
            per = {k: v / phase.cpu_events * 1e3 for k, v in phase.cpu.items() if k != "wall"}
            busy = sum(v for k, v in phase.cpu.items() if k != "wall") / phase.cpu["wall"]
            say(
                "    CPU ms per event: "
                + ", ".join(f"{k} {v:.2f}" for k, v in per.items())
                + f"; total {sum(per.values()):.2f} ms; {busy:.2f} of {os.cpu_count()} cores busy"
            )
    relay = next(p for p in phases if p.name.startswith("relay alone"))
    e2e = next(p for p in phases if p.name.startswith("saturation"))
    consumer = next(p for p in phases if p.name.startswith("consumer alone"))
    say(
        f"{'deliver() alone, in-process (no broker)':<40} {probe['events']:6d} events "
        f"{1e3 / probe['wall_ms']:8.0f} events/s  ({probe['wall_ms']:.2f} ms wall, "
        f"{probe['cpu_ms']:.2f} ms Python CPU, {probe['backend_cpu_ms']:.2f} ms backend CPU, "
        f"{len(probe['statements'])} ORM statements per event)"
    )
    driver = probe["driver_ms"]
    say(
        "    wall ms per event in the driver: "
        + ", ".join(f"{name} {value:.2f}" for name, value in driver.items())
        + f"; outside it {probe['wall_ms'] - sum(driver.values()):.2f}"
    )
    say("\n=== ratios ===")
    say(f"relay alone / raw publish pipelined-confirm : {relay.rate / mean.publish_pipelined:.3f}x")
    say(f"consumer alone / raw consume                : {consumer.rate / mean.consume:.3f}x")
    say(f"consumer alone / raw one-row commit         : {consumer.rate / mean.pg_commit:.3f}x")
    rate = 1e3 / probe["wall_ms"]
    say(f"deliver() alone / raw one-row commit        : {rate / mean.pg_commit:.3f}x")
    say(f"consumer alone / deliver() alone            : {consumer.rate / rate:.3f}x")
    say("\n=== targets ===")
    verdicts = []

    def target(text: str, passed: bool | None, detail: str) -> None:
        verdict = "SKIP" if passed is None else "PASS" if passed else "FAIL"
        verdicts.append(f"{verdict}  {text}: {detail}")
        say(verdicts[-1])

    ratio = relay.rate / mean.publish_plain
    target(
        "relay with confirms >= 0.5x raw publish without confirms",
        ratio >= 0.5,
        f"{relay.rate:.0f} / {mean.publish_plain:.0f} = {ratio:.3f}x",
    )
    ratio = e2e.rate / mean.pg_commit
    target(
        "end-to-end >= 1.5x raw one-row PostgreSQL commit rate",
        ratio >= 1.5,
        f"{e2e.rate:.0f} / {mean.pg_commit:.0f} = {ratio:.3f}x",
    )
    p99 = percentile(sorted(fixed.latency), 0.99) * 1e3
    offered = fixed.offered_rate
    reached = offered >= 0.95 * args.rate
    target(
        "p99 <= 100 ms at 500 events/s offered",
        None if args.rate < 500 else p99 <= 100 and reached,
        f"p99 {p99:.1f} ms at {offered:.0f} events/s offered"
        + ("" if reached else " (the producer did not reach the planned rate)")
        + (" (below 500 events/s: not evaluated)" if args.rate < 500 else ""),
    )
    return not any(v.startswith("FAIL") for v in verdicts), verdicts


def print_profiles(directory: Path) -> None:
    for path in sorted(directory.glob("*.prof")):
        say(f"\n=== profile {path.name}: top functions by own time ===")
        try:
            stats = pstats.Stats(str(path))
        except (OSError, EOFError, TypeError) as error:
            say(f"  unreadable: {error}")
            continue
        stats.sort_stats("tottime").print_stats(22)
        say(f"=== profile {path.name}: by cumulative time ===")
        stats.sort_stats("cumulative").print_stats(30)


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=500, help="offered events/s (default 500)")
    parser.add_argument("--seconds", type=float, default=20, help="of fixed load (default 20)")
    parser.add_argument(
        "--saturation-events", type=int, default=10000, help="per preload phase (default 10000)"
    )
    parser.add_argument(
        "--raw-messages", type=int, default=10000, help="per raw publish baseline (default 10000)"
    )
    parser.add_argument(
        "--confirm-messages",
        type=int,
        default=3000,
        help="for the per-message-confirm baseline (default 3000)",
    )
    parser.add_argument(
        "--pg-seconds", type=float, default=5, help="of raw PostgreSQL commits (default 5)"
    )
    parser.add_argument(
        "--customers", type=int, default=200, help="aggregates per phase (default 200)"
    )
    parser.add_argument(
        "--deliver-events",
        type=int,
        default=2000,
        help="for the in-process deliver() probe (default 2000)",
    )
    parser.add_argument(
        "--relay-batch",
        type=int,
        default=1000,
        help="EDN_BUS_RELAY_BATCH (default: the product default, 1000)",
    )
    parser.add_argument(
        "--message-batch",
        type=int,
        default=100,
        help="EDN_BUS_MESSAGE_BATCH: events per broker message at most (default: the product "
        "default, 100; 1 = one message per event)",
    )
    parser.add_argument(
        "--phase-timeout", type=float, default=600, help="max seconds to wait for a phase"
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("EDN_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"),
        help="server URL without database (default: $EDN_BENCH_POSTGRES or local trust auth)",
    )
    parser.add_argument(
        "--broker",
        default=os.environ.get("EDN_BENCH_BROKER", "amqp://guest:guest@127.0.0.1:5672//"),
        help="RabbitMQ URL (default: $EDN_BENCH_BROKER or local guest)",
    )
    parser.add_argument("--db-prefix", default="edn_bench_e2e", help="database name prefix")
    parser.add_argument("--keep-databases", action="store_true", help="do not drop them at the end")
    parser.add_argument(
        "--no-validation", action="store_true", help="EDN_SCHEMA_VALIDATION=0 (comparison only)"
    )
    parser.add_argument(
        "--profile", metavar="DIR", help="run relay and worker under cProfile, stats into DIR"
    )
    args = parser.parse_args(argv)
    for name in (
        "rate",
        "seconds",
        "saturation_events",
        "raw_messages",
        "customers",
        "deliver_events",
    ):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if args.confirm_messages < 1 or args.confirm_messages > args.raw_messages:
        parser.error("--confirm-messages must be within 1..--raw-messages")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_cleanly_on_sigterm()
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="edn-bench-e2e-"))
    d = Run(args, workdir)
    observe = Observer(d)
    keep_logs = True
    try:
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
        for name in ("warmup", "fixed", "saturation", "relay", "probe"):
            path = workdir / f"customers-{name}.txt"
            path.write_text("\n".join(str(uuid.uuid4()) for _ in range(args.customers)))
            groups[name] = path
        say(f"[setup] orders: one open order for each of {5 * args.customers} customers")
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
        probe = probe_deliver(d, groups["probe"])
        observe.probed = observe.inbox_count()  # the probe's own events, not in the outbox

        before = measure_baselines(d, bodies, "baseline 1/2")

        say("[setup] customers: manage.py edn_relay; orders: Celery worker (solo)")
        d.start_relay()
        worker = d.start_worker()
        warm_up(d, observe, groups["warmup"])
        fixed = run_fixed(d, observe, groups["fixed"])
        saturation = run_preload(d, observe, groups["saturation"], consumer=True)
        say("[relay alone] stopping the worker")
        worker.stop()
        inbox_before = observe.inbox_count()
        relay = run_preload(d, observe, groups["relay"], consumer=False)
        consumer = run_consumer_alone(d, observe, relay, inbox_before)
        problems = observe.check_outcomes()
        for child in d.children:
            if child.name in ("relay", "worker", "web"):
                child.check()
        d.stop_all()  # before the second baselines, as the first ran without them

        after = measure_baselines(d, bodies, "baseline 2/2")
        phases = [fixed, saturation, relay, consumer]
        passed, _ = report(before, after, phases, fixed, probe, args)
        if problems:
            say("\n[check] FAILED: " + "; ".join(problems))
            return 2
        counts = observe.outcome_counts()
        say(
            f"[check] every event recorded once ({counts.get('handled', 0)} applied, "
            f"{counts.get('stale', 0)} superseded within a batch by a newer event of the same "
            "customer, latest-wins); applied in order; every order at its customer's newest "
            "address; no failures"
        )
        keep_logs = False
        return 0 if passed else 1
    except KeyboardInterrupt:
        say("\n[abort] interrupted")
        return 2
    except Exception as error:
        say(f"\n[error] {type(error).__name__}: {error}")
        for child in d.children:
            if child.exited():
                say(f"--- {child.name} exited; last lines of {child.log_path} ---\n{child.tail()}")
        return 2
    finally:
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
        if args.profile:
            print_profiles(Path(args.profile))
        if keep_logs:
            say(f"[teardown] logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
