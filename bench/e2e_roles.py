"""Django-side helpers of bench/e2e.py, run as subprocesses with one service's environment.

Not a benchmark by itself; bench/e2e.py starts it. Subcommands:

* ``seed-orders`` (orders environment): one open order per customer, through ``PlaceOrder``, so
  that every ``v1.CustomerAddressUpdated`` the consumer applies moves a real order.
* ``sample`` (customers environment): build envelopes exactly as the outbox would (same
  publication, schema validation, CloudEvents serializer) without writing them; the raw broker
  baselines publish these bodies.
* ``offer`` (customers environment): write events into the outbox at a fixed rate, each due event
  in a transaction of its own (events that fell due together while the previous commit ran share
  one, at most ``--max-batch``), as ``write_outbox`` is called by command handlers.
* ``preload`` (customers environment): write ``--count`` events in one transaction, whose commit
  wakes the running relay.
* ``deliver`` (orders environment): call ``deliver()`` on the envelopes of a ``sample`` file in a
  loop, as the Celery worker step does for each message but without broker and Celery; report
  wall and CPU time per event of this process and of its PostgreSQL backend, the wall time
  spent inside the database driver (ORM statements, commit, connection health check; clocked
  on this connection object only), and the SQL statements of one delivery.

Events go round-robin over the customers of ``--customers`` (a file of UUIDs, one a line); the
n-th event of a customer carries sequence n and the address "<n> Bench Road". Each event's
``occurred_at`` (the envelope ``time``) is the moment it was created, just before its
transaction. Results are written as JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import math
import os
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _customers(path: str) -> list[uuid.UUID]:
    return [uuid.UUID(line) for line in Path(path).read_text().split() if line]


def _event(customer: uuid.UUID, n: int):
    from customers.domain import Address, CustomerAddressUpdated

    address = Address(f"{n} Bench Road", "Leeds", "West Yorkshire", "GB", f"LS{n % 100} 1AA")
    return CustomerAddressUpdated(aggregate_id=customer, shipping_address=address)


def _write(pairs) -> None:
    from django.db import transaction

    from edn_core.bus.outbox import write_outbox

    with transaction.atomic(using="customers"):
        if len(write_outbox("customers", pairs)) != len(pairs):
            raise RuntimeError("write_outbox did not publish every event")


def seed_orders(args) -> dict:
    from edn_core.cqrs import send
    from orders.commands import PlaceOrder

    first = {
        "street": "0 Start Street",
        "city": "Leeds",
        "state": "West Yorkshire",
        "country": "GB",
        "postal_code": "LS1 1AA",
    }
    item = {
        "product_name": "Widget",
        "product_price": Decimal("7.50"),
        "quantity": 2,
    }
    customers = _customers(args.customers)
    for customer in customers:
        send(
            PlaceOrder(
                customer_id=customer,
                shipping_address=first,
                items=[{**item, "product_id": uuid.uuid4()}],
            )
        )
    return {"orders": len(customers)}


def sample(args) -> dict:
    from edn_core.events import publication_for

    customers = _customers(args.customers)
    bodies = []
    for i in range(args.count):
        event = _event(customers[i % len(customers)], i // len(customers) + 1)
        built = publication_for(event).build("customers", event, i // len(customers) + 1)
        bodies.append({"id": built.id, "topic": built.topic, "envelope": built.to_json()})
    return {"bodies": bodies}


def offer(args) -> dict:
    customers = _customers(args.customers)
    total = round(args.rate * args.seconds)
    interval = 1.0 / args.rate
    lags: list[float] = []
    transactions = 0
    started = time.monotonic() + 0.05
    first_created = last_created = math.nan
    i = 0
    deadline = started + args.seconds * 3 + 30  # bounded even if the machine stalls
    while i < total:
        now = time.monotonic()
        if now > deadline:
            break
        due = min(total, math.floor((now - started) / interval) + 1)
        if due <= i:
            time.sleep(max(0.0, started + i * interval - now))
            continue
        batch = range(i, min(due, i + args.max_batch))
        pairs = []
        for j in batch:
            created = time.monotonic()
            lags.append(created - (started + j * interval))
            pairs.append(
                (
                    j // len(customers) + 1,
                    _event(customers[j % len(customers)], j // len(customers) + 1),
                )
            )
        if i == 0:
            first_created = time.time()
        _write(pairs)
        last_created = time.time()
        transactions += 1
        i += len(batch)
    lags.sort()
    return {
        "events": i,
        "planned": total,
        "transactions": transactions,
        "first_created": first_created,
        "last_committed": last_created,
        "lag_p50_ms": lags[len(lags) // 2] * 1e3 if lags else math.nan,
        "lag_p99_ms": lags[max(0, math.ceil(0.99 * len(lags)) - 1)] * 1e3 if lags else math.nan,
        "lag_max_ms": lags[-1] * 1e3 if lags else math.nan,
    }


def preload(args) -> dict:
    customers = _customers(args.customers)
    built_at = time.time()
    rounds = [(i % len(customers), i // len(customers) + 1) for i in range(args.count)]
    pairs = [(n, _event(customers[c], n)) for c, n in rounds]
    _write(pairs)
    return {"events": len(pairs), "started": built_at, "committed": time.time()}


def _backend_cpu(alias: str) -> float:
    """CPU seconds of this connection's PostgreSQL backend process (same machine)."""
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def deliver_loop(args) -> dict:
    from django.db import close_old_connections, connections
    from django.test.utils import CaptureQueriesContext

    from edn_core.bus.dispatch import deliver

    bodies = [b["envelope"] for b in json.loads(Path(args.envelopes).read_text())["bodies"]]
    warm = max(1, len(bodies) // 10)
    for body in bodies[: warm - 1]:  # connections, schema cache, code paths
        close_old_connections()
        deliver(body, app_labels={"orders"})
    close_old_connections()
    with CaptureQueriesContext(connections["orders"]) as captured:
        outcomes = deliver(bodies[warm - 1], app_labels={"orders"})
    timed = bodies[warm:]
    connection = connections["orders"]
    spent = {"statements": 0.0, "commit": 0.0, "health check": 0.0}

    def clocked(name, call):
        def run(*a, **kw):
            started = time.perf_counter()
            try:
                return call(*a, **kw)
            finally:
                spent[name] += time.perf_counter() - started

        return run

    def clock_statements(execute, sql, params, many, context):
        return clocked("statements", execute)(sql, params, many, context)

    # This connection object only: time spent waiting in the driver, per kind of call.
    connection.commit = clocked("commit", connection.commit)
    connection.is_usable = clocked("health check", connection.is_usable)
    backend_before = _backend_cpu("orders")
    wall, cpu = time.perf_counter(), time.process_time()
    profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not waits
    with connection.execute_wrapper(clock_statements):
        if profiler:
            profiler.enable()
        for body in timed:
            close_old_connections()  # as EventConsumerStep does before each message
            deliver(body, app_labels={"orders"})
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    backend = _backend_cpu("orders") - backend_before
    per_event = {name: value / len(timed) * 1e3 for name, value in spent.items()}
    return {
        "events": len(timed),
        "outcomes": outcomes,
        "wall_ms": wall / len(timed) * 1e3,
        "cpu_ms": cpu / len(timed) * 1e3,
        "backend_cpu_ms": backend / len(timed) * 1e3,
        "driver_ms": per_event,
        "statements": [q["sql"] for q in captured.captured_queries],
        "profiled": bool(args.profile),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("seed-orders", "sample", "offer", "preload", "deliver"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--out", required=True, help="where to write the JSON result")
        if name == "deliver":
            cmd.add_argument("--envelopes", required=True, help="a sample result file")
            cmd.add_argument("--profile", help="cProfile the timed deliveries into this file")
            continue
        cmd.add_argument("--customers", required=True, help="file of customer UUIDs")
        if name in ("sample", "preload"):
            cmd.add_argument("--count", type=int, required=True)
        if name == "offer":
            cmd.add_argument("--rate", type=float, required=True, help="events per second")
            cmd.add_argument("--seconds", type=float, required=True)
            cmd.add_argument("--max-batch", type=int, default=50)
    args = parser.parse_args(argv)
    _setup()
    run = {
        "seed-orders": seed_orders,
        "sample": sample,
        "offer": offer,
        "preload": preload,
        "deliver": deliver_loop,
    }
    result = run[args.command](args)
    Path(args.out).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
