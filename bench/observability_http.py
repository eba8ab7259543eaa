"""The HTTP part of bench/observability.py: ``POST /api/customers`` through gunicorn and
PostgreSQL, one gunicorn per variant (same code, same databases, environments differing only
in the observability settings), the variants loaded in turn, round after round, the order
rotating so that drift of the machine affects all alike."""

from __future__ import annotations

import os
import secrets
import statistics
import tempfile
from pathlib import Path

from bench.common import percentile, say
from bench.e2e_measure import process_cpu
from bench.http_commands import Load, Variant, gunicorn, manage, ours_body, split, stats_of
from tests.support.postgres import drop_databases, recreate_databases
from tests.support.processes import free_port, http_ok

__all__ = ["run_http"]
READY_TIMEOUT_S = 60.0


def _cpu(pid: int) -> float:
    """CPU seconds of a gunicorn: its master and every worker (Linux /proc)."""
    total = 0.0
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    for each in [pid, *map(int, children)]:
        found = process_cpu(each)
        total += found[1] if found else 0.0
    return total


def _env(base: dict, overrides: dict, port: int) -> dict:
    env = {**base, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_http(args, variants: dict[str, dict]) -> dict[str, dict]:
    """Run the load; return per variant ``{"rps", "p50_ms", "p99_ms", "errors", "cpu_us"}``
    (``cpu_us``: CPU of the variant's gunicorn, master and workers, per request)."""
    server_url = args.postgres.rstrip("/")
    databases = {alias: f"{args.db_prefix}_http_{alias}" for alias in ("default", "customers")}
    workdir = Path(tempfile.mkdtemp(prefix="edn-bench-obs-"))
    base = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PROMETHEUS_"))},
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "EDN_JWT_SIGNING_KEY": secrets.token_urlsafe(50),
        "EDN_SERVICES": "customers",
        "EDN_BUS_IN_PROCESS": "0",
        "EDN_DATA_DIR": str(workdir),
        "EDN_LOG_LEVEL": "WARNING",
        "DEFAULT_DATABASE_URL": f"{server_url}/{databases['default']}",
        "CUSTOMERS_DATABASE_URL": f"{server_url}/{databases['customers']}",
        "GUNICORN_WORKERS": str(args.workers),
        "GUNICORN_THREADS": "1",
        "GUNICORN_ACCESSLOG": "",
        "PYTHONUNBUFFERED": "1",
    }
    servers, loads, measured = {}, {}, {}
    cpu = dict.fromkeys(variants, 0.0)
    rounds: dict[str, list[float]] = {name: [] for name in variants}
    say(f"[http] recreating databases {', '.join(databases.values())}")
    recreate_databases(server_url, list(databases.values()))
    try:
        manage(base, "migrate_all")
        token = manage(base, "edn_token", "bench").strip().splitlines()[-1]
        for name, overrides in variants.items():
            port = free_port()
            log = workdir / f"gunicorn-{len(servers)}.log"
            servers[name] = gunicorn(_env(base, overrides, port), log).start()
            loads[name] = Load(port, token, args.concurrency, max_errors=20)
            measured[name] = Variant(name, "/api/customers", ours_body)
        for name, server in servers.items():
            healthy = f"http://127.0.0.1:{loads[name].port}/healthz"
            server.wait_ready(lambda h=healthy: http_ok(h, 2), READY_TIMEOUT_S, healthy)
        say(f"[http] {len(servers)} gunicorns, {args.workers} sync workers each; warm-up")
        for name in variants:
            loads[name].run(measured[name], args.warmup, record=False)
        names = list(variants)
        for index, size in enumerate(split(args.requests, args.rounds)):
            order = names[index % len(names) :] + names[: index % len(names)]
            parts = []
            for name in order:
                before = _cpu(servers[name].pid)
                ok, wall = loads[name].run(measured[name], size)
                cpu[name] += _cpu(servers[name].pid) - before
                rounds[name].append(ok / wall)
                parts.append(f"{name} {ok / wall:6.1f}/s")
            say(f"  round {index + 1:>2}/{args.rounds}: " + " | ".join(parts))
    finally:
        for server in servers.values():
            server.stop()
        drop_databases(server_url, list(databases.values()))
    results = {}
    for name, variant in measured.items():
        stats = stats_of(variant.latencies_ns, len(variant.errors), variant.wall_s)
        ordered = sorted(variant.latencies_ns)
        results[name] = {
            "rps": stats.rps,
            "p50_ms": percentile(ordered, 0.5) / 1e6,
            "p99_ms": percentile(ordered, 0.99) / 1e6,
            "errors": len(variant.errors),
            "cpu_us": 1e6 * cpu[name] / max(variant.ok, 1),
            # each round's throughput over the first variant's in the same round: drift of the
            # machine within a round cancels out
            "paired": statistics.median(
                a / b for a, b in zip(rounds[name], rounds[names[0]], strict=True)
            ),
        }
    return results
