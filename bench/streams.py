"""Event streams: appends through the streams port and windowed processing by the processor
runtime, beside the brokers' raw clients in the same run (Redis Streams, NATS JetStream), and
the database log on PostgreSQL for scale.

A benchmark, not a test. One process; fresh PostgreSQL databases ``<db-prefix>_default`` and
``<db-prefix>_analytics`` (``migrate_all``; the analytics app's tables hold the processors'
state, positions and outputs), Redis keys under a prefix of this run's own (DB 6 by default,
never 7), NATS streams under a prefix of this run's own; all removed at the end.

The workload (``bench/streams_work.py``): ``--entries`` ``v1.OrderPlaced`` envelopes (~380
bytes of JSON), keyed by order id, ``--partitions`` partitions. For each log:

1. **append**: the entries in batches of ``--batch`` through ``StreamLog.append`` (``NewEntry``
   without an id: no dedup; a third side, informational, appends them with their event id as
   the entry id, as the stream feed does) against the raw client appending the same payloads
   (``bench/streams_raw.py``): pipelined ``XADD`` / ``publish_async`` awaiting the batch's
   acknowledgements / (PostgreSQL) pipelined ``INSERT`` + ``COMMIT``. The first batch of each
   side is a warm-up, the rest goes in ``--rounds`` ABBA rounds.
2. **processing**: the analytics app's per-product-per-minute processor
   (``analytics.streams.product_minutes``: tumbling 1-minute windows on the event time in the
   value, keyed by product, count and sums of units and revenue, emitted on update; its writer
   upserts ``analytics_product_minute``) run by ``Runner.run_once`` in a loop until caught up,
   ``--process-batch`` entries a round: consume, process, commit state, positions and outputs
   in one PostgreSQL transaction, then the log's offsets. Against the raw consume of the same
   entries in batches of the same size: ``XREADGROUP`` + ``XACK`` / a ``no_wait`` pull per
   partition + one ``+ACK`` (ack policy all) of each partition's last / (PostgreSQL)
   pipelined ``SELECT`` per partition + offsets ``UPDATE`` + ``COMMIT``. Values are not
   decoded by the raw sides. First batch a warm-up, then ABBA rounds, the last until empty.

Checks (exit 2 if wrong): each stream holds exactly the entries appended; each side read
every entry once; the processor's windows (the partitions' shares added up) equal a
recomputation from the appended payloads, with no late record and no dead letter.

Targets (from the issue), for Redis and NATS: append through the port >= 0.5x raw;
processing >= 0.3x the raw consume rate. Exit status: 0 every target met, 1 a target
missed, 2 wrong outcomes or setup.

Run from the repository root (PostgreSQL 127.0.0.1:5432 user postgres trust, Redis, NATS)::

    .venv/bin/python -m bench.streams           # < 2 minutes
    .venv/bin/python -m bench.streams --full    # 200,000 entries, 6 rounds

``--profile`` adds a cProfile pass of ours' processing (10,000 more entries) on each log.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # make the project importable when run as a file
    sys.path.insert(0, str(ROOT))

from bench.common import add_postgres_option, say, stop_cleanly_on_sigterm  # noqa: E402
from bench.streams_phases import LogUnderTest, bench_log  # noqa: E402
from bench.streams_work import orders, recompute  # noqa: E402
from bench.validation import DURABILITY, configure_environment  # noqa: E402
from tests.support.postgres import drop_databases, recreate_databases, server_settings  # noqa: E402
from tests.support.processes import machine_summary  # noqa: E402

LIBRARIES = {"Django": "django", "psycopg": "psycopg", "redis-py": "redis", "nats-py": "nats-py"}
ALIASES = ("default", "analytics")
LOGS = ("redis", "nats", "database")
TARGETED = ("redis", "nats")
TARGET_APPEND = 0.5
TARGET_PROCESS = 0.3
SIZES = {"entries": (50_000, 200_000), "rounds": (4, 6)}  # default, --full


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--full",
        action="store_true",
        default=os.environ.get("EDN_BENCH_FULL") == "1",
        help="bigger sizes (default: $EDN_BENCH_FULL=1, else sizes that run in < 2 minutes)",
    )
    parser.add_argument("--entries", type=int, help="entries appended and processed per log")
    parser.add_argument("--rounds", type=int, help="ABBA rounds per phase")
    parser.add_argument("--partitions", type=int, default=8, help="partitions (default 8)")
    parser.add_argument("--batch", type=int, default=500, help="entries per append (500)")
    parser.add_argument(
        "--process-batch", type=int, default=500, help="entries per processing round (500)"
    )
    parser.add_argument(
        "--logs", default=",".join(LOGS), help=f"logs to run, comma-separated ({','.join(LOGS)})"
    )
    parser.add_argument("--target-append", type=float, default=TARGET_APPEND)
    parser.add_argument("--target-process", type=float, default=TARGET_PROCESS)
    parser.add_argument("--profile", action="store_true", help="cProfile ours' processing")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("EDN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/6"),
        help="Redis database (default DB 6; never DB 7)",
    )
    parser.add_argument("--nats-url", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
    add_postgres_option(parser)
    parser.add_argument("--db-prefix", default="edn_bench_streams")
    parser.add_argument("--keep-databases", action="store_true")
    args = parser.parse_args(argv)
    pick = 1 if args.full else 0
    for name, values in SIZES.items():
        if getattr(args, name) is None:
            setattr(args, name, values[pick])
    args.logs = [name.strip() for name in args.logs.split(",") if name.strip()]
    if not set(args.logs) <= set(LOGS):
        parser.error(f"--logs: one or more of {', '.join(LOGS)}")
    if args.redis_url.rstrip("/").endswith("/7"):
        parser.error("--redis-url: DB 7 is not for benchmarks")
    if args.entries < args.batch * (args.rounds + 1):
        parser.error("--entries: at least --batch x (--rounds + 1)")
    return args


def durability(args) -> list[str]:
    """What each server does to keep an acknowledged write."""
    import asyncio

    import nats
    import redis

    lines = [f"postgresql: {server_settings(args.postgres, *DURABILITY)} (left as they are)"]
    if "redis" in args.logs:
        client = redis.Redis.from_url(args.redis_url, decode_responses=True)
        found = {
            k: v
            for name in ("appendonly", "appendfsync", "save")
            for k, v in client.config_get(name).items()
        }
        version = client.info("server")["redis_version"]
        client.close()
        lines.append(
            f"redis {version}: " + ", ".join(f"{k} {v or '(none)'}" for k, v in found.items())
        )
    if "nats" in args.logs:

        async def version() -> str:
            nc = await nats.connect(args.nats_url)
            try:
                return nc.connected_server_version
            finally:
                await nc.close()

        lines.append(
            f"nats-server {asyncio.run(version())}: JetStream file storage (ours and raw), "
            "acknowledged once written to the OS; fsync periodic (the server's default)"
        )
    return lines


def report(results: list[dict], args) -> bool:
    say()
    say("summary")
    passed = True
    for r in results:
        kind, targeted = r["kind"], r["kind"] in TARGETED
        append, process = r["append"], r["process"]
        checks = []
        for title, got, target in (
            ("append", append, args.target_append),
            ("processing", process, args.target_process),
        ):
            ok = got["ratio"] >= target
            passed &= ok or not targeted
            verdict = (
                f"target >= {target:g}x: {'PASS' if ok else 'FAIL'}"
                if targeted
                else ("for scale, no target")
            )
            checks.append(
                f"  {kind} {title}: ours {got['ours'].per_second:,.0f}/s (CPU "
                f"{got['ours'].cpu_us:.0f} µs/entry), raw {got['raw'].per_second:,.0f}/s (CPU "
                f"{got['raw'].cpu_us:.0f} µs/entry) = {got['ratio']:.2f}x (per round, median "
                f"{got['median']:.2f}x); {verdict}"
            )
        split_ms = process["split"]
        checks.append(
            f"  {kind} processing, ms per batch of {args.process_batch}: ours "
            f"{split_ms['round']:.1f} (consume {split_ms['consume']:.1f}, processing and the "
            f"PostgreSQL transaction {split_ms['rest']:.1f}, the log's commit "
            f"{split_ms['commit']:.1f}), raw {split_ms['raw']:.1f}"
        )
        say("\n".join(checks))
        ids = append["ids"]
        say(
            f"  {kind} append with entry ids (dedup, informational): {ids.per_second:,.0f}/s "
            f"= {ids.per_second / append['raw'].per_second:.2f}x raw"
        )
    return passed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_cleanly_on_sigterm()
    server = args.postgres.rstrip("/")
    args.postgres = server
    databases = {alias: f"{args.db_prefix}_{alias}" for alias in ALIASES}
    created, tag = False, uuid.uuid4().hex[:10]
    try:
        say(f"[setup] recreating databases {', '.join(databases.values())} on {server}")
        pg_version = recreate_databases(server, list(databases.values()))
        created = True
        configure_environment(server, databases, Path(tempfile.mkdtemp(prefix="edn-bench-st-")))
        os.environ["EDN_SERVICES"] = "analytics"
        import django
        from django.core.management import call_command

        django.setup()
        say(machine_summary(LIBRARIES, f"PostgreSQL {pg_version}", load_average=True, commit=True))
        for line in durability(args):
            say(line)
        call_command("migrate_all", stdout=io.StringIO())
        payloads = orders(args.entries)
        size = sum(len(json.dumps(v, separators=(",", ":"))) for _, v in payloads) / len(payloads)
        say(
            f"sizes: {args.entries:,} entries per log (values of {size:.0f} bytes of JSON on "
            f"average), {args.partitions} partitions, append batches of {args.batch}, "
            f"processing batches of {args.process_batch}, {args.rounds} rounds"
        )
        expected = recompute(payloads)
        results, problems = [], []
        for kind in args.logs:
            under = LogUnderTest(kind, args, tag, f"{server}/{databases['analytics']}")
            try:
                result, found = bench_log(under, payloads, expected, args)
            finally:
                under.close()
            results.append(result)
            problems += found
        passed = report(results, args)
        if problems:
            say("\n[check] FAILED: " + "; ".join(problems))
            return 2
        say(
            "[check] every stream holds what was appended, every side read each entry once, "
            "the windows equal the recomputation (no late record, no dead letter)"
        )
        return 0 if passed else 1
    except KeyboardInterrupt:
        say("\n[abort] interrupted")
        return 2
    except Exception as error:
        import traceback

        traceback.print_exc()
        say(f"\n[error] {type(error).__name__}: {error}")
        return 2
    finally:
        if created:
            from django.db import connections

            connections.close_all()
            if not args.keep_databases:
                drop_databases(server, list(databases.values()))


if __name__ == "__main__":
    sys.exit(main())
