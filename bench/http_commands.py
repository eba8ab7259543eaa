"""Create-customer throughput and latency through gunicorn + PostgreSQL: ours vs plain DRF.

A benchmark, not a test. It measures the real HTTP stack end to end:

* **ours**: ``POST /api/customers`` (input DTO -> ``CreateCustomer`` command -> domain aggregate
  -> repository in a transaction -> output DTO, ETag and Location), answering 201;
* **plain**: ``POST /bench/plain-customers``, a plain DRF ``ModelViewSet`` with a plain
  ``ModelSerializer`` over the same model (bench/baseline.py), with the same authentication,
  permission, parser and renderer classes (the defaults from settings), answering 201.

Both are served by the same gunicorn (``config/gunicorn.py``, sync workers, bench settings)
from the same fresh PostgreSQL databases, hosting the customers service only
(``EDN_SERVICES=customers``) as one service process of a production deployment would. As there,
the outbox relay is not a thread inside the web workers (``EDN_BUS_IN_PROCESS=0``; the relay
is ``manage.py edn_relay`` of its own); ``--in-process-relay`` keeps the development default.
The variants run alternately in the same run (rounds in ABBA order) so that drift of the
machine affects both alike.

Run from the repository root (PostgreSQL at 127.0.0.1:5432, user postgres, trust auth)::

    .venv/bin/python bench/http_commands.py --requests 3000 --concurrency 8 --workers 2

It drops and recreates the databases ``edn_bench_default`` and ``edn_bench_customers`` (named by
``--db-prefix``), and drops them again at the end unless ``--keep-databases``. Exit status: 0 when
the target is met, 1 when it is missed, 2 when requests failed or the setup broke.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import math
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from bench.common import add_postgres_option, percentile, say, stop_cleanly_on_sigterm  # noqa: E402
from tests.support.postgres import drop_databases, recreate_databases  # noqa: E402
from tests.support.processes import Service, free_port, http_ok, machine_summary  # noqa: E402

PYTHON = sys.executable
READY_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 30.0
LIBRARIES = {
    "Django": "django",
    "DRF": "djangorestframework",
    "gunicorn": "gunicorn",
    "psycopg": "psycopg",
}


# --- request bodies -------------------------------------------------------------------------


def ours_body(n: int) -> bytes:
    return json.dumps(
        {
            "firstName": f"Ada{n}",
            "lastName": "Lovelace",
            "shippingAddress": {
                "street": "12 St James's Square",
                "city": "London",
                "state": "Greater London",
                "country": "GB",
                "postalCode": "SW1Y 4JH",
            },
            "creditLimit": "100.00",
        }
    ).encode()


def plain_body(n: int) -> bytes:
    return json.dumps(
        {
            "first_name": f"Ada{n}",
            "last_name": "Lovelace",
            "street": "12 St James's Square",
            "city": "London",
            "state": "Greater London",
            "country": "GB",
            "postal_code": "SW1Y 4JH",
            "credit_limit": "100.00",
        }
    ).encode()


@dataclass
class Variant:
    name: str
    path: str
    body: Callable[[int], bytes]
    latencies_ns: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    round_p50_ms: list[float] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return len(self.latencies_ns)


@dataclass
class Stats:
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float


def stats_of(latencies_ns: list[int], errors: int, wall_s: float) -> Stats:
    ordered = sorted(latencies_ns)
    n = len(ordered)
    return Stats(
        requests=n,
        errors=errors,
        rps=n / wall_s if wall_s > 0 else math.nan,
        p50_ms=percentile(ordered, 0.50) / 1e6,
        p99_ms=percentile(ordered, 0.99) / 1e6,
    )


# --- the server -----------------------------------------------------------------------------


def count_rows(database_url: str, table: str) -> int:
    with psycopg.connect(database_url, connect_timeout=10) as conn:
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        return conn.execute(query).fetchone()[0]


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def gunicorn(env: dict[str, str], log_path: Path) -> Service:
    """gunicorn with the project's config (sync workers), not started yet."""
    command = [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.py", "-k", "sync", "config.wsgi"]
    return Service("gunicorn", command, env, log_path)


# --- the load -------------------------------------------------------------------------------


class Load:
    """``concurrency`` client threads, each with its own HTTP/1.1 connection (kept alive
    when the server allows it; gunicorn's sync workers close after each response, and
    http.client then reconnects transparently)."""

    def __init__(self, port: int, token: str, concurrency: int, max_errors: int) -> None:
        self.port = port
        self.concurrency = concurrency
        self.max_errors = max_errors
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        self.serial = itertools.count()  # unique names across all requests of the run

    def run(self, variant: Variant, requests: int, *, record: bool = True) -> tuple[int, float]:
        """Send ``requests`` creates of ``variant``; return (successes, wall seconds)."""
        tickets = iter(range(requests))
        lock = threading.Lock()
        stop = threading.Event()
        latencies: list[int] = []
        errors: list[str] = []

        def client() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_S)
            mine: list[int] = []
            try:
                while not stop.is_set():
                    with lock:
                        if next(tickets, None) is None:
                            return
                    body = variant.body(next(self.serial))
                    started = time.perf_counter_ns()
                    try:
                        conn.request("POST", variant.path, body=body, headers=self.headers)
                        response = conn.getresponse()
                        payload = response.read()
                    except (OSError, http.client.HTTPException) as error:
                        conn.close()
                        failure = f"{type(error).__name__}: {error}"
                    else:
                        elapsed = time.perf_counter_ns() - started
                        if response.status == 201:
                            mine.append(elapsed)
                            continue
                        failure = f"HTTP {response.status}: {payload[:300]!r}"
                    with lock:
                        errors.append(failure)
                        if len(errors) >= self.max_errors:
                            stop.set()
            finally:
                conn.close()
                with lock:
                    latencies.extend(mine)

        threads = [
            threading.Thread(target=client, name=f"client-{i}", daemon=True)
            for i in range(self.concurrency)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            # Each request is bounded by REQUEST_TIMEOUT_S; join in slices so Ctrl-C works.
            while thread.is_alive():
                thread.join(timeout=0.5)
        wall = time.perf_counter() - started
        if record:
            variant.latencies_ns.extend(latencies)
            variant.errors.extend(errors)
            variant.wall_s += wall
        if errors and len(errors) >= self.max_errors:
            raise RuntimeError(
                f"{variant.name}: {len(errors)} failed requests, stopping; first: {errors[0]}"
            )
        return len(latencies), wall


def split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


# --- reporting ------------------------------------------------------------------------------


def report(ours: Variant, plain: Variant, target: float) -> bool:
    a = stats_of(ours.latencies_ns, len(ours.errors), ours.wall_s)
    b = stats_of(plain.latencies_ns, len(plain.errors), plain.wall_s)
    print()
    print(f"{'variant':<28} {'ok':>6} {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for variant, s in ((ours, a), (plain, b)):
        print(
            f"{variant.name:<28} {s.requests:>6} {s.errors:>6} {s.rps:>8.1f} "
            f"{s.p50_ms:>8.2f} {s.p99_ms:>8.2f}"
        )
    p50_ratio = a.p50_ms / b.p50_ms
    p99_ratio = a.p99_ms / b.p99_ms
    rps_ratio = a.rps / b.rps
    print(
        f"ratio ours/plain: throughput {rps_ratio:.3f}x, p50 {p50_ratio:.3f}x, p99 {p99_ratio:.3f}x"
    )
    paired = sorted(x / y for x, y in zip(ours.round_p50_ms, plain.round_p50_ms, strict=True))
    print(
        f"per-round p50 ratio ours/plain (drift-paired): median {statistics.median(paired):.3f}x, "
        f"range {paired[0]:.3f}x..{paired[-1]:.3f}x over {len(paired)} rounds"
    )
    passed = p50_ratio <= target and p99_ratio <= target
    verdict = "PASS" if passed else "FAIL"
    print(
        f"target: ours latency <= {target:.2f}x plain DRF (p50 and p99): {verdict} "
        f"(p50 {p50_ratio:.3f}x, p99 {p99_ratio:.3f}x)"
    )
    return passed


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="per variant (default 3000)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--rounds", type=int, default=30, help="alternations (default 30)")
    parser.add_argument(
        "--warmup", type=int, default=300, help="untimed requests per variant (default 300)"
    )
    parser.add_argument(
        "--target", type=float, default=1.25, help="max ours/plain latency (default 1.25)"
    )
    add_postgres_option(parser)
    parser.add_argument("--db-prefix", default="edn_bench", help="database name prefix")
    parser.add_argument("--port", type=int, default=0, help="gunicorn port (default: a free one)")
    parser.add_argument(
        "--max-errors", type=int, default=20, help="stop after this many failed requests"
    )
    parser.add_argument("--keep-databases", action="store_true", help="do not drop them at the end")
    parser.add_argument(
        "--in-process-relay",
        action="store_true",
        help="run the outbox relay thread inside each gunicorn worker (development default)",
    )
    args = parser.parse_args(argv)
    for name in ("requests", "concurrency", "workers", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.warmup < 0:
        parser.error("--warmup cannot be negative")
    if args.rounds > args.requests:
        parser.error("--rounds cannot exceed --requests")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_cleanly_on_sigterm()
    server_url = args.postgres.rstrip("/")
    databases = {alias: f"{args.db_prefix}_{alias}" for alias in ("default", "customers")}
    port = args.port or free_port()
    workdir = Path(tempfile.mkdtemp(prefix="edn-bench-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "EDN_JWT_SIGNING_KEY": secrets.token_urlsafe(50),
        "EDN_SERVICES": "customers",
        "EDN_BUS_IN_PROCESS": "1" if args.in_process_relay else "0",
        "EDN_DATA_DIR": str(workdir),
        "EDN_LOG_LEVEL": "WARNING",
        "DEFAULT_DATABASE_URL": f"{server_url}/{databases['default']}",
        "CUSTOMERS_DATABASE_URL": f"{server_url}/{databases['customers']}",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(args.workers),
        "GUNICORN_THREADS": "1",
        "GUNICORN_ACCESSLOG": "-",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("GUNICORN_CMD_ARGS", None)

    server = gunicorn(env, workdir / "gunicorn.log")
    ours = Variant("ours (POST /api/customers)", "/api/customers", ours_body)
    plain = Variant("plain DRF ModelViewSet", "/bench/plain-customers", plain_body)
    created = False
    keep_log = True  # the gunicorn log stays for a look unless the run went through
    try:
        say(f"[setup] recreating databases {', '.join(databases.values())} on {server_url}")
        pg_version = recreate_databases(server_url, list(databases.values()))
        created = True
        say(machine_summary(LIBRARIES, f"PostgreSQL {pg_version}"))
        say("[setup] manage.py migrate_all")
        manage(env, "migrate_all")
        token = manage(env, "edn_token", "bench").strip().splitlines()[-1]
        say(f"[setup] gunicorn: {args.workers} sync workers on 127.0.0.1:{port}")
        say(f"[setup] gunicorn log: {server.log_path}")
        healthy = f"http://127.0.0.1:{port}/healthz"
        server.start().wait_ready(lambda: http_ok(healthy, 2), READY_TIMEOUT_S, healthy)
        load = Load(port, token, args.concurrency, args.max_errors)

        say(f"[warmup] {args.warmup} requests per variant, concurrency {args.concurrency}")
        warmed = 0
        for variant in (ours, plain):
            if args.warmup:
                warmed += load.run(variant, args.warmup, record=False)[0]

        say(
            f"[run] {args.requests} requests per variant in {args.rounds} alternating rounds, "
            f"concurrency {args.concurrency}"
        )
        for index, size in enumerate(split(args.requests, args.rounds), start=1):
            order = (ours, plain) if index % 2 else (plain, ours)  # ABBA cancels drift
            parts = []
            for variant in order:
                before = len(variant.latencies_ns)
                ok, wall = load.run(variant, size)
                p50_ms = percentile(sorted(variant.latencies_ns[before:]), 0.5) / 1e6
                variant.round_p50_ms.append(p50_ms)
                parts.append(
                    f"{variant.name.split(' ')[0]:<5} {ok / wall:6.1f} req/s p50 {p50_ms:6.2f} ms"
                )
            say(f"  round {index:>2}/{args.rounds}: " + " | ".join(parts))

        rows = count_rows(env["CUSTOMERS_DATABASE_URL"], "customers_customer")
        expected = ours.ok + plain.ok + warmed
        say(f"[check] customers_customer holds {rows} rows (expected {expected})")
        passed = report(ours, plain, args.target)
        if ours.errors or plain.errors or rows != expected:
            for variant in (ours, plain):
                for error in variant.errors[:5]:
                    say(f"  {variant.name}: {error}")
            return 2
        keep_log = False
        return 0 if passed else 1
    except KeyboardInterrupt:
        say("\n[abort] interrupted")
        return 2
    except Exception as error:
        say(f"\n[error] {error}")
        if server.log_path.exists():
            say(f"--- last lines of {server.log_path} ---\n{server.tail(30)}")
        return 2
    finally:
        say("[teardown] stopping gunicorn")
        server.stop()
        if created and not args.keep_databases:
            try:
                drop_databases(server_url, list(databases.values()))
            except psycopg.Error as error:
                say(f"[teardown] could not drop the bench databases: {error}")
        if keep_log and server.log_path.exists():
            say(f"[teardown] gunicorn log kept at {server.log_path}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
