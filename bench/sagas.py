"""Create-order sagas end to end: completed sagas/s and p50/p99 saga duration.

A benchmark, not a test. Every saga is the reference architecture's create-order saga on its
success path: OrderPlaced -> saga start -> reserve credit -> reply -> reserve stock -> reply
-> confirm order -> reply, i.e. one command transaction and seven handler transactions (each
with its inbox row, the aggregate change and the next message in the outbox), plus the relay's
reads and ``sent_at`` updates, over four PostgreSQL databases (customers, orders, inventory,
sagas).

Phases:

1. **baseline**: raw one-row PostgreSQL commits per second (INSERT + COMMIT, one psycopg
   connection), before and after (the VM drifts); a saga needs 8 commits of our own, so
   "raw sagas/s" = commits/s / 8 is what 8 bare commits in a row would allow;
2. **one process, saturation**: ``--sagas`` orders placed first (``PlaceOrder``, one
   transaction each, as the API does), then one bus worker (``BusWorker.run_once`` in a loop,
   the ``local`` transport) runs them all: completed sagas/s;
3. **one process, fixed load**: ``--rate`` orders/s for ``--seconds`` placed by one thread
   while the in-process bus worker thread (woken on commit) runs the sagas: completed
   sagas/s and p50/p99 duration (order row created -> saga row Executed);
4. **separate processes** (``--processes``): the five services as in
   tests/test_saga_processes.py (gunicorn, relay and Celery worker each, own databases,
   RabbitMQ); ``--sagas`` orders placed in the orders process, completed sagas/s until the
   last saga's commit.

Target (from the issue): >= 300 sagas/s on PostgreSQL in one process with the local transport.

A run that did not do what it measures gets no verdict (exit status 2, the reason printed):
after each phase every saga placed so far must be ``Executed`` (a compensated saga is not a
done one), the stock taken must be the quantities ordered and the credit reserved the orders'
totals (``bench.sagas_processes.check_correct``).

Run from the repository root::

    .venv/bin/python -m bench.sagas --sagas 2000 --rate 100 --seconds 10 --processes
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg

from bench.common import percentile, say, stop_cleanly_on_sigterm
from bench.sagas_processes import PRICE, QUANTITY, STOCK, IncorrectRun, check_correct
from bench.validation import DURABILITY, LIBRARIES, configure_environment
from config.services import SERVICE_APPS
from tests.support.postgres import drop_databases, recreate_databases, server_settings
from tests.support.processes import machine_summary

ALIASES = ("default", *SERVICE_APPS)
# the services the saga runs through (and the registry); others that also follow order
# events (analytics) are not part of it and are not hosted here, as before they existed
SAGA_SERVICES = ("customers", "orders", "inventory", "sagas", "schema_registry")
COMMITS_PER_SAGA = 8


def raw_commits_per_second(server_url: str, database: str, seconds: float = 3.0) -> float:
    with psycopg.connect(f"{server_url}/{database}") as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_raw (id bigserial primary key, v text)")
        conn.commit()
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            conn.execute("INSERT INTO bench_raw (v) VALUES ('x')")
            conn.commit()
            done += 1
        return done / (time.perf_counter() - start)


def seed(customers: int):
    from customers.commands import CreateCustomer
    from edn_core.cqrs import send
    from inventory.commands import CreateProduct

    address = {
        "street": "1 Road",
        "city": "Leeds",
        "state": "WY",
        "country": "UK",
        "postal_code": "L1",
    }
    people = [
        send(
            CreateCustomer(
                first_name="Bench",
                last_name=str(n),
                shipping_address=address,
                credit_limit=Decimal("10000000"),
            )
        ).value
        for n in range(customers)
    ]
    product = send(CreateProduct(description="Widget", amount_available=STOCK)).value
    return people, product, address


def order_command(people, product, address, n: int):
    from orders.commands import PlaceOrder

    line = {
        "product_id": product.id,
        "product_name": "Widget",
        "product_price": PRICE,
        "quantity": QUANTITY,
    }
    return PlaceOrder(
        customer_id=people[n % len(people)].id, shipping_address=address, items=[line]
    )


def unfinished() -> int:
    from sagas.models import SagaRecord

    return SagaRecord.objects.exclude(state__in=["Executed", "Compensated"]).count()


def check_all_executed(placed: int) -> None:
    """Refuse the run (:class:`IncorrectRun`) unless the ``placed`` sagas so far all Executed
    and the stock and credit they took add up to what was ordered."""
    from django.db.models import Count, Sum

    from customers.models import CustomerRecord
    from inventory.models import ProductRecord
    from sagas.models import SagaRecord

    states = SagaRecord.objects.values("state").annotate(n=Count("id")).order_by()
    stock = ProductRecord.objects.aggregate(left=Sum("amount_available"))["left"]
    credit = CustomerRecord.objects.aggregate(held=Sum("credit_reserved"))["held"]
    check_correct(placed, {r["state"]: r["n"] for r in states}, STOCK - stock, credit)


def wait_all_placed_sagas(expected: int, deadline: float) -> None:
    from orders.models import OrderEvent

    def pending_orders() -> int:  # placed, not yet confirmed or rejected
        settled = ["OrderConfirmed", "OrderRejected", "OrderCancelled"]
        return (
            OrderEvent.objects.filter(type="OrderPlaced").count()
            - OrderEvent.objects.filter(type__in=settled).count()
        )

    while pending_orders() or unfinished():
        if time.monotonic() > deadline:
            raise RuntimeError(f"sagas still running: {unfinished()} of {expected}")
        time.sleep(0.05)


def durations_ms(since) -> list[float]:
    """Order row created -> its saga row last saved (Executed), for orders placed since."""
    from orders.models import OrderEvent
    from sagas.models import SagaRecord

    placed = OrderEvent.objects.filter(type="OrderPlaced", recorded_at__gte=since)
    placed = {uuid.UUID(s): t for s, t in placed.values_list("stream_id", "recorded_at")}
    done = SagaRecord.objects.filter(key__in=[str(k) for k in placed], state="Executed")
    return sorted(
        (ended - placed[uuid.UUID(key)]).total_seconds() * 1000
        for key, ended in done.values_list("key", "updated_at")
    )


def saturation(people, product, address, count: int, placed_before: int) -> float:
    from edn_core.bus.worker import BusWorker
    from edn_core.cqrs import send

    say(f"[one process, saturation] placing {count} orders, bus stopped")
    for n in range(count):
        send(order_command(people, product, address, n))
    worker, start = BusWorker(listen=False), time.perf_counter()
    while worker.run_once():
        pass
    elapsed = time.perf_counter() - start
    check_all_executed(placed_before + count)  # a Compensated saga is not a done one
    rate = count / elapsed
    say(f"  {count} sagas in {elapsed:.2f} s: {rate:.0f} sagas/s")
    return rate


def fixed_load(people, product, address, rate: float, seconds: float, placed_before: int) -> dict:
    from django.utils import timezone

    from edn_core.bus.outbox import on_outbox_commit
    from edn_core.bus.worker import BusWorker
    from edn_core.cqrs import send

    say(f"[one process, fixed load] {rate:g} orders/s for {seconds:g} s, bus worker thread")
    worker = BusWorker(listen=False)
    on_outbox_commit(lambda alias: worker.wake.set())
    thread = threading.Thread(target=worker.run, daemon=True)
    since, start = timezone.now(), time.perf_counter()
    thread.start()
    total = int(rate * seconds)
    for n in range(total):
        lag = start + n / rate - time.perf_counter()
        if lag > 0:
            time.sleep(lag)
        send(order_command(people, product, address, n))
    wait_all_placed_sagas(total, time.monotonic() + 300)
    elapsed = time.perf_counter() - start
    worker.stop()
    thread.join(timeout=10)
    check_all_executed(placed_before + total)  # none dropped from the durations unseen
    values = durations_ms(since)
    result = {
        "completed": len(values),
        "per_second": len(values) / elapsed,
        "p50": percentile(values, 0.5),
        "p99": percentile(values, 0.99),
        "mean": statistics.fmean(values) if values else float("nan"),
    }
    say(
        f"  {result['completed']} sagas, {result['per_second']:.0f}/s; duration p50 "
        f"{result['p50']:.0f} ms, p99 {result['p99']:.0f} ms, mean {result['mean']:.0f} ms"
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db-prefix", default="edn_bench_sagas")
    parser.add_argument("--sagas", type=int, default=2000)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--processes", action="store_true", help="also run phase 4")
    args = parser.parse_args(argv)
    stop_cleanly_on_sigterm()
    server = args.postgres.rstrip("/")
    databases = {alias: f"{args.db_prefix}_{alias}" for alias in ALIASES}
    try:
        pg_version = recreate_databases(server, list(databases.values()))
        configure_environment(server, databases, Path(tempfile.mkdtemp(prefix="edn-bench-")))
        os.environ["EDN_BUS_TRANSPORT"] = "local"
        os.environ["EDN_SERVICES"] = ",".join(SAGA_SERVICES)
        import django
        from django.core.management import call_command

        django.setup()
        say(machine_summary(LIBRARIES, f"PostgreSQL {pg_version}"))
        say(f"postgresql: {server_settings(server, *DURABILITY)}")
        call_command("migrate_all", stdout=io.StringIO())
        call_command("edn_schemas", "register", stdout=io.StringIO())
        raw_before = raw_commits_per_second(server, databases["default"])
        say(f"[baseline] raw one-row commits: {raw_before:.0f}/s")
        people, product, address = seed(args.customers)
        warm_up = min(200, args.sagas)
        saturation(people, product, address, warm_up, 0)  # warm-up, not reported
        rate = saturation(people, product, address, args.sagas, warm_up)
        placed = warm_up + args.sagas
        load = fixed_load(people, product, address, args.rate, args.seconds, placed)
        raw_after = raw_commits_per_second(server, databases["default"])
        raw = (raw_before + raw_after) / 2
        say(f"[baseline] raw one-row commits again: {raw_after:.0f}/s (mean {raw:.0f}/s)")
        raw_sagas = raw / COMMITS_PER_SAGA
        say()
        say("summary")
        say(
            f"  one process, saturation: {rate:.0f} sagas/s = {rate / raw_sagas:.2f}x "
            f"raw ({raw_sagas:.0f} sagas/s as {COMMITS_PER_SAGA} bare commits each); "
            f"target >= 300 sagas/s: {'PASS' if rate >= 300 else 'FAIL'}"
        )
        say(
            f"  one process, {args.rate:g}/s offered: p50 {load['p50']:.0f} ms, "
            f"p99 {load['p99']:.0f} ms"
        )
        if args.processes:
            from bench.sagas_processes import run_processes

            run_processes(args.sagas, raw_sagas, say, f"{args.db_prefix}_processes")
    except IncorrectRun as refused:
        say(str(refused))
        return 2
    finally:
        from django.db import connections

        connections.close_all()
        drop_databases(server, list(databases.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
