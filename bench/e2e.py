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

The code, by concern: bench/e2e_run.py (the roles as processes, through
tests/support/deployment.py; set-up and teardown), bench/e2e_baselines.py (the raw baselines),
bench/e2e_phases.py (the event phases), bench/e2e_observer.py (what they read from the
databases and the commit clock), bench/e2e_measure.py (latency, CPU per process group),
bench/e2e_report.py (what is printed); bench/e2e_roles.py and bench/e2e_worker.py run inside
the services.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from bench.common import add_postgres_option, say, stop_cleanly_on_sigterm  # noqa: E402
from bench.e2e_baselines import measure_baselines, pg_commit_rate  # noqa: E402
from bench.e2e_observer import Observer  # noqa: E402
from bench.e2e_phases import (  # noqa: E402
    probe_deliver,
    run_consumer_alone,
    run_fixed,
    run_preload,
    warm_up,
)
from bench.e2e_report import report, report_deliver  # noqa: E402
from bench.e2e_run import Run, set_up, tear_down  # noqa: E402


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
    add_postgres_option(parser)
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
        "--deliver-only",
        action="store_true",
        help="only deliver() alone, between two raw one-row commit baselines (with --profile: "
        "deliver() under cProfile)",
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
    d = Run(args, Path(tempfile.mkdtemp(prefix="edn-bench-e2e-")))
    observe = Observer(d)
    keep_logs = True
    try:
        if args.deliver_only:
            keep_logs = not deliver_only(d)
            return 0 if not keep_logs else 1
        groups, bodies = set_up(d)
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
        tear_down(d, keep_logs)


def deliver_only(d: Run) -> bool:
    """deliver() alone between two raw one-row commit baselines; True when its targets hold."""
    groups, bodies = set_up(d, ("fixed", "probe"))
    raw = f"{d.server}/{d.raw_database}"
    rates = []
    for label in ("1/2", "2/2"):
        if rates:
            probe = probe_deliver(d, groups["probe"])
        say(f"[baseline {label}] raw PostgreSQL one-row commits for {d.args.pg_seconds:g}s")
        rates.append(pg_commit_rate(raw, bodies[0]["envelope"], d.args.pg_seconds))
        say(f"  {rates[-1]:8.0f} commits/s")
    return report_deliver(probe, sum(rates) / 2, d.args)


if __name__ == "__main__":
    sys.exit(main())
