"""What observability costs: throughput with it off and on, in the same run.

A benchmark, not a test. Two parts, each comparing four variants of the same code that
differ only in their environment (bench/observability_variants.py ``variants``): **off**
(``EDN_METRICS=0``, no tracing), **metrics** only, **metrics+traces 10%**
(``OTEL_TRACES_SAMPLER=parentbased_traceidratio``, ``_ARG=0.1``) and **metrics+traces 100%**
(``parentbased_always_on``); traces are exported over OTLP/HTTP to a receiver in this process
that counts and discards them (a collector's own work is not the service's).

* **http** (bench/observability_http.py): ``POST /api/customers`` through gunicorn and
  PostgreSQL, as bench/http_commands.py -- requests per second per variant;
* **bus** (bench/observability_bus.py): bench/e2e.py's end-to-end saturation phase through
  outbox, relay, RabbitMQ and the consumer -- events per second and CPU of relay and worker
  per event.

Targets (issue #16): metrics on and traces sampled at 10 % cost at most 5 % of the
throughput (ratio to off >= 0.95); every trace sampled at most 15 % (>= 0.85).

Run from the repository root (PostgreSQL and RabbitMQ local)::

    .venv/bin/python -m bench.observability

Exit status: 0 targets met, 1 a target missed, 2 the run broke.
"""

from __future__ import annotations

import argparse
import sys

from bench import e2e
from bench.common import add_postgres_option, say, stop_cleanly_on_sigterm
from bench.observability_variants import variants
from tests.support.otlp import OtlpReceiver
from tests.support.processes import machine_summary

TARGETS = {"metrics+traces 10%": 0.95, "metrics+traces 100%": 0.85}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("http", "bus"), help="run one part only")
    parser.add_argument("--requests", type=int, default=4000, help="HTTP, per variant")
    parser.add_argument("--rounds", type=int, default=20, help="HTTP rounds (default 20)")
    parser.add_argument("--warmup", type=int, default=200, help="HTTP, per variant")
    parser.add_argument("--concurrency", type=int, default=8, help="HTTP client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per variant")
    parser.add_argument("--events", type=int, default=10000, help="bus, per phase")
    parser.add_argument("--bus-rounds", type=int, default=3, help="bus rounds (default 3)")
    parser.add_argument("--db-prefix", default="edn_bench_obs", help="database name prefix")
    add_postgres_option(parser)
    return parser.parse_args(argv)


def _table(title: str, results: dict, key: str, unit: str, extra: str | None = None) -> bool:
    """Print each variant's figures and ratio to "off" (the median of the rounds' paired
    ratios where the part has them); judge the targets on that ratio."""
    base = results["off"][key]
    say(f"\n{title}")
    passed = True
    for name, figures in results.items():
        ratio = figures.get("paired", figures[key] / base)
        target = TARGETS.get(name)
        verdict = ""
        if target is not None:
            verdict = f"  target >= {target:.2f}: {'PASS' if ratio >= target else 'FAIL'}"
            passed = passed and ratio >= target
        more = f"  {figures[extra]:8.1f} {extra}" if extra else ""
        overall = f" (overall {figures[key] / base:.3f}x)" if "paired" in figures else ""
        say(f"  {name:<22} {figures[key]:10.1f} {unit}  {ratio:6.3f}x off{overall}{more}{verdict}")
    return passed


def main(argv=None) -> int:
    args = parse_args(argv)
    stop_cleanly_on_sigterm()
    say(machine_summary({"opentelemetry-sdk": "opentelemetry-sdk"}, ""))
    passed = True
    with OtlpReceiver(keep=False) as sink:
        compared = variants(sink.endpoint)
        if args.only in (None, "http"):
            from bench.observability_http import run_http

            http = run_http(args, compared)
            passed &= _table("http: POST /api/customers", http, "rps", "req/s", "cpu_us")
        if args.only in (None, "bus"):
            from bench.observability_bus import run_bus

            bus_args = e2e.parse_args(
                [
                    *("--saturation-events", str(args.events), "--raw-messages", "10"),
                    *("--confirm-messages", "1", "--customers", "200"),
                    *("--db-prefix", f"{args.db_prefix}_bus", "--postgres", args.postgres),
                ]
            )
            bus_args.bus_rounds = args.bus_rounds
            bus = run_bus(bus_args, compared)
            passed &= _table("bus: events end to end", bus, "rate", "events/s", "cpu_us")
            base = bus["off"]["total_cpu_us"]
            say("  CPU of every process per event (producer, relay, worker, PostgreSQL, RabbitMQ):")
            for name, figures in bus.items():
                cost = figures["total_cpu_us"]
                say(f"    {name:<22} {cost:8.1f} us  throughput-equivalent {base / cost:.3f}x off")
        say(f"\ntraces exported: {sink.requests} requests, {sink.bytes / 1e6:.1f} MB")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
