"""Event sourcing on PostgreSQL: appends, aggregate loads and projection catch-up, beside the
``eventsourcing`` library (pyeventsourcing) and raw one-row commits, in the same run.

A benchmark, not a test. One process; the orders alias's store tables (``orders_orderevent``,
``orders_ordersnapshot``) on a fresh database hold a ``counter`` stream type (the store
contract tests' ``Counter``: one event type ``Counted``, a total); the library's tables
(``tallies_events``, ``tallies_snapshots``) live in the same database. Both sides run with the
server's durability as it is (printed; ``synchronous_commit=on`` expected), one event per
transaction where appending.

Phases:

1. **appends**, one event per transaction: ours ``EventStore.append`` inside
   ``transaction.atomic`` on the orders alias (``BEGIN``, one ``INSERT … SELECT`` that checks
   the expected version and the projections' wake-up ``NOTIFY`` in one pipeline, then
   ``COMMIT``); the library's ``Application.save`` of an aggregate kept in memory (its
   default PostgreSQL recorder: ``LOCK TABLE … IN EXCLUSIVE MODE``, ``NOTIFY``, ``INSERT``,
   ``COMMIT``). Four cases: one writer over ``--streams`` streams (round robin), one writer
   on one stream, ``--threads`` writer threads over disjoint sets of streams, and as many
   writer processes (forked after set-up, each with its own connection: no interpreter lock
   shared, so what the database serialises shows). Streams exist before timing (their first
   event is not timed); each case runs in ``--rounds`` rounds alternating the two in ABBA
   order, after a warm-up;
2. **loads** of an aggregate with 1,000 events: ours ``EventSourcedRepository.get`` of a
   ``Counter`` without ``snapshot_every`` (replays 1,000 events) and of one with
   ``snapshot_every = 100`` (the snapshot taken at 1,000 when it was saved, no event after);
   the library's ``repository.get`` without snapshots and with ``snapshotting_intervals``
   100 (same tables); ms per load, median and mean;
3. **projection catch-up**: ``--catchup-events`` events written over ``--catchup-streams``
   streams (one event per stream per ``append_many``, not timed), then one projection (the
   runner of ``edn_core.eventsourcing.running``: batches, 10,000 events by default, read below
   the read bound, decoded, handled and checkpointed in one transaction each) catches up from
   nothing; its
   handler keeps one ``OrderView`` row per stream (version and total) with one upsert per
   batch, as the orders list projection does; events/s.

Baseline for scale: raw one-row PostgreSQL commits (INSERT + COMMIT, one psycopg connection),
before and after (the VM drifts; the mean is used).

Targets (from the issue): appends with one event per transaction >= 2x the library's rate, in
every append case; projection catch-up >= 10x the raw one-row commit rate. Exit status: 0
every target met, 1 a target missed, 2 wrong outcomes or setup.

Run from the repository root (PostgreSQL at 127.0.0.1:5432, user postgres, trust auth; run it
as a module, so that ``eventsourcing`` is the library and not this file)::

    .venv/bin/python -m bench.eventsourcing            # < 2 minutes
    .venv/bin/python -m bench.eventsourcing --full     # bigger sizes

``--profile`` adds cProfile passes of ours (appends, loads without a snapshot, writing events
and a catch-up over them) and prints where the time goes (the figures of the profiled passes
are slower; do not quote them). The databases ``<db-prefix>_default`` and
``<db-prefix>_orders`` are dropped at the end unless ``--keep-databases``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
# run as a file, Python put bench/ first on the path, where this file shadows the library
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
if str(ROOT) not in sys.path:  # make the project importable
    sys.path.insert(0, str(ROOT))

from bench.common import add_postgres_option, say, stop_cleanly_on_sigterm  # noqa: E402
from bench.eventsourcing_processes import run_processes  # noqa: E402
from bench.sagas import raw_commits_per_second  # noqa: E402
from bench.validation import DURABILITY, configure_environment  # noqa: E402
from tests.support.postgres import drop_databases, recreate_databases, server_settings  # noqa: E402
from tests.support.processes import machine_summary  # noqa: E402

LIBRARIES = {"Django": "django", "psycopg": "psycopg", "eventsourcing": "eventsourcing"}
ALIASES = ("default", "orders")
LOAD_EVENTS = 1000
SNAPSHOT_EVERY = 100
TARGET_APPENDS = 2.0
TARGET_CATCH_UP = 10.0
SIZES = {  # --full; the default is the first of each
    "appends": (1500, 6000),
    "streams": (200, 1000),
    "rounds": (8, 12),
    "loads": (10, 30),
    "raw_seconds": (2.0, 5.0),
    "catchup_events": (50000, 200000),
    "catchup_streams": (1000, 2000),
}


# --- ours ------------------------------------------------------------------------------------


def define_counter():
    """The store contract tests' Counter (and one with snapshots), defined after setup."""
    from dataclasses import dataclass as frozen_dataclass

    from edn_core.domain import DomainEvent
    from edn_core.eventsourcing import EventCodec, EventSourcedAggregate, applies
    from edn_core.eventsourcing.store import EventStore

    @frozen_dataclass(frozen=True, kw_only=True)
    class Counted(DomainEvent):
        by: int

    class Counter(EventSourcedAggregate):
        def __init__(self, id):
            super().__init__(id)
            self.total = 0

        def count(self, by: int) -> None:
            self.emit(Counted(aggregate_id=self.id, by=by))

        @applies(Counted)
        def _counted(self, event: Counted) -> None:
            self.total += event.by

        def to_snapshot(self) -> dict:
            return {"total": self.total}

        @classmethod
        def from_snapshot(cls, id, state):
            counter = cls(id)
            counter.total = state["total"]
            return counter

    class SnapshottedCounter(Counter):
        snapshot_every = SNAPSHOT_EVERY

    store = EventStore("orders", "counter", EventCodec(Counted))
    return Counted, Counter, SnapshottedCounter, store


@dataclass
class Ours:
    store: object
    event: type
    streams: list[list] = field(default_factory=list)  # [stream id, version]

    def make_streams(self, count: int) -> list[list]:
        from django.db import transaction

        made = [[uuid.uuid4(), 1] for _ in range(count)]
        with transaction.atomic(using=self.store.alias):
            self.store.append_many(
                [(str(s), 0, [self.event(aggregate_id=s, by=1)]) for s, _ in made]
            )
        self.streams.extend(made)
        return made

    def append_loop(self, streams: list[list], count: int) -> None:
        from django.db import transaction

        store, event, alias = self.store, self.event, self.store.alias
        for n in range(count):
            stream = streams[n % len(streams)]
            with transaction.atomic(using=alias):
                store.append(stream[0], stream[1], [event(aggregate_id=stream[0], by=1)])
            stream[1] += 1


@dataclass
class Library:
    app: object
    env: dict
    tallies: list = field(default_factory=list)


def noop() -> None:
    pass


# --- timing ----------------------------------------------------------------------------------


def run_threads(
    groups: list, work: Callable, per_thread: int, connect: Callable
) -> tuple[float, float]:
    """``work(group, per_thread)`` in one thread per group, all started at once; wall seconds
    from the start to the last one's end, and the process's CPU seconds meanwhile (every
    thread). ``connect`` runs in each thread before the start."""
    barrier, errors = threading.Barrier(len(groups) + 1), []

    def body(group) -> None:
        from django.db import connections

        try:
            connect()
            barrier.wait()
            work(group, per_thread)
        except BaseException as error:  # the main thread raises it
            errors.append(error)
            barrier.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=body, args=(g,), daemon=True) for g in groups]
    for thread in threads:
        thread.start()
    barrier.wait()
    start, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.join()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    if errors:
        raise errors[0]
    return elapsed, cpu


@dataclass
class Rate:
    name: str
    done: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    rounds: list[float] = field(default_factory=list)

    def add(self, done: int, seconds: float, cpu: float) -> None:
        self.done += done
        self.seconds += seconds
        self.cpu += cpu
        self.rounds.append(done / seconds)

    @property
    def per_second(self) -> float:
        return self.done / self.seconds

    @property
    def cpu_us(self) -> float:
        """CPU of this process per append (µs): Python, psycopg, the GIL's one core."""
        return self.cpu / self.done * 1e6


def split(items: list, parts: int) -> list[list]:
    return [items[n::parts] for n in range(parts)]


def append_case(
    ours: Ours, lib, title: str, streams: int, threads: int, sizes, processes: bool = False
) -> tuple:
    """One append case: ``threads`` writers (threads, or ``processes``) over ``streams``
    streams each side, ABBA rounds."""
    from django.db import connections

    from bench.eventsourcing_library import Tallies, append_loop, make_tallies

    kind = "process(es)" if processes else "thread(s)"
    say(f"[appends] {title}: {threads} {kind}, {streams} stream(s), one event per transaction")
    our_groups = split(ours.make_streams(streams), threads)
    tallies = make_tallies(lib.app, streams)
    lib.tallies += tallies
    lib_groups = split(tallies, threads)
    alias = ours.store.alias

    def connect_ours() -> None:
        connections[alias].ensure_connection()

    def run_ours(per_thread: int) -> tuple[float, float]:
        if processes:
            return in_processes(our_groups, connect_ours, ours_versions, set_ours)
        return run_threads(our_groups, ours.append_loop, per_thread, connect_ours)

    def run_library(per_thread: int) -> tuple[float, float]:
        if processes:
            child_env = lib.env | {"POSTGRES_POOL_SIZE": "1", "CREATE_TABLE": "false"}
            own_app = lambda: Tallies(env=child_env)  # noqa: E731 (tables exist)
            return in_processes(lib_groups, own_app, lib_versions, set_library)
        return run_threads(lib_groups, lambda g, n: append_loop(lib.app, g, n), per_thread, noop)

    def ours_versions(_, group, n) -> list[int]:
        ours.append_loop(group, n)
        return [stream[1] for stream in group]

    def lib_versions(app, group, n) -> list[int]:
        append_loop(app, group, n)
        return [tally.version for tally in group]

    def set_ours(stream, version) -> None:
        stream[1] = version

    def set_library(tally, version) -> None:
        tally.version = version

    def in_processes(groups, setup, work, update) -> tuple[float, float]:
        """Wall seconds, and the writer processes' CPU seconds (their set-up included)."""
        before = os.times()
        seconds, versions = run_processes(groups, setup, work, current_per_thread[0])
        after = os.times()
        for group, reached in zip(groups, versions, strict=True):
            for item, version in zip(group, reached, strict=True):
                update(item, version)
        cpu = after.children_user + after.children_system
        return seconds, cpu - before.children_user - before.children_system

    warmup = max(10, sizes["appends"] // 10 // threads)
    current_per_thread = [warmup]
    run_ours(warmup)
    run_library(warmup)
    # writer processes each get a round's whole share (a few dozen appends would measure
    # their connections warming up)
    per_thread = max(1, sizes["appends"] // sizes["rounds"] // (1 if processes else threads))
    current_per_thread[0] = per_thread
    rates = {"ours": Rate("ours"), "library": Rate("library")}
    for index in range(sizes["rounds"]):
        order = ("ours", "library") if index % 2 == 0 else ("library", "ours")
        parts = []
        for name in order:
            seconds, cpu = (run_ours if name == "ours" else run_library)(per_thread)
            rates[name].add(per_thread * threads, seconds, cpu)
            parts.append(f"{name:<7} {per_thread * threads / seconds:7.0f}/s")
        say(f"  round {index + 1}/{sizes['rounds']}: " + " | ".join(parts))
    ours_rate, lib_rate = rates["ours"], rates["library"]
    ratio = ours_rate.per_second / lib_rate.per_second
    per_round = statistics.median(
        o / b for o, b in zip(ours_rate.rounds, lib_rate.rounds, strict=True)
    )
    say(
        f"  ours {ours_rate.per_second:.0f} appends/s (CPU {ours_rate.cpu_us:.0f} µs/append), "
        f"library {lib_rate.per_second:.0f} appends/s (CPU {lib_rate.cpu_us:.0f} µs/append): "
        f"{ratio:.2f}x; per round, median {per_round:.2f}x"
    )
    return title, ours_rate, lib_rate, ratio, per_round


# --- loads -----------------------------------------------------------------------------------


def time_loads(load: Callable[[], object], count: int) -> list[float]:
    values = []
    for _ in range(count):
        start = time.perf_counter()
        load()
        values.append((time.perf_counter() - start) * 1000)
    return values


def loads_phase(counter_types, store, lib_env: dict, sizes) -> tuple[list, list[str]]:
    """Ms per load of a 1,000-event aggregate, with and without a snapshot, both sides."""
    from bench.eventsourcing_library import SnapshottingTallies, Tallies, Tally
    from edn_core.eventsourcing.repository import EventSourcedRepository

    _, counter, snapshotted, _ = counter_types
    say(f"[loads] an aggregate with {LOAD_EVENTS} events, snapshots every {SNAPSHOT_EVERY}")
    ours_plain = EventSourcedRepository(counter, store)
    ours_snap = EventSourcedRepository(snapshotted, store)
    aggregate = snapshotted(uuid.uuid4())
    for _ in range(LOAD_EVENTS // SNAPSHOT_EVERY):
        for _ in range(SNAPSHOT_EVERY):
            aggregate.count(1)
        ours_snap.save(aggregate)
    lib_plain, lib_snap = Tallies(env=lib_env), SnapshottingTallies(env=lib_env)
    tally = Tally()
    for n in range(LOAD_EVENTS // SNAPSHOT_EVERY):
        for _ in range(SNAPSHOT_EVERY - (1 if n == 0 else 0)):  # the first save has Created
            tally.count(1)
        lib_snap.save(tally)

    problems = []
    for name, repo, expected_read in (("without", ours_plain, LOAD_EVENTS), ("with", ours_snap, 0)):
        before = repo.events_read
        got = repo.get(aggregate.id)
        if (got.version, got.total, repo.events_read - before) != (
            LOAD_EVENTS,
            LOAD_EVENTS,
            expected_read,
        ):
            problems.append(
                f"ours {name} snapshot: version {got.version}, total {got.total}, "
                f"{repo.events_read - before} events read (expected {expected_read})"
            )
    for app in (lib_plain, lib_snap):
        got = app.repository.get(tally.id)
        if (got.version, got.total) != (LOAD_EVENTS, LOAD_EVENTS - 1):
            problems.append(f"library {type(app).__name__}: version {got.version}")
    if lib_snap.snapshots is None or not lib_snap.snapshots.get(tally.id):
        problems.append("library: no snapshot taken")

    variants = {
        ("without", "ours"): lambda: ours_plain.get(aggregate.id),
        ("without", "library"): lambda: lib_plain.repository.get(tally.id),
        ("with", "ours"): lambda: ours_snap.get(aggregate.id),
        ("with", "library"): lambda: lib_snap.repository.get(tally.id),
    }
    times: dict = {key: [] for key in variants}
    for load in variants.values():
        time_loads(load, 5)  # warm-up
    for index in range(sizes["rounds"]):
        for snapshot in ("without", "with"):
            order = ("ours", "library") if index % 2 == 0 else ("library", "ours")
            for side in order:
                count = sizes["loads"] if snapshot == "without" else sizes["loads"] * 5
                times[(snapshot, side)] += time_loads(variants[(snapshot, side)], count)
    rows = []
    for snapshot in ("without", "with"):
        ours_ms, lib_ms = (statistics.median(times[(snapshot, s)]) for s in ("ours", "library"))
        ours_mean, lib_mean = (statistics.fmean(times[(snapshot, s)]) for s in ("ours", "library"))
        say(
            f"  {snapshot} snapshot: ours median {ours_ms:.2f} ms (mean {ours_mean:.2f}), "
            f"library median {lib_ms:.2f} ms (mean {lib_mean:.2f}); library/ours "
            f"{lib_ms / ours_ms:.2f}x"
        )
        rows.append((snapshot, ours_ms, ours_mean, lib_ms, lib_mean))
    lib_plain.close()
    lib_snap.close()
    return rows, problems


# --- projection catch-up --------------------------------------------------------------------

MARK = uuid.UUID(int=0xBE7C4)  # the customer id that marks this benchmark's read-model rows


def define_projection(event_type, store):
    """A projection of counter streams into the orders list table (``OrderView``, the one
    read-model table with generations the project has, as the runner's tests use it): one row
    per stream with its version and total; an event that is not its stream's next version is
    refused (a lost, doubled or reordered event fails the run)."""
    from decimal import Decimal

    from edn_core.eventsourcing.projections import Projection
    from edn_core.eventsourcing.readmodels import upsert_rows
    from orders.models import OrderView

    class Totals(Projection):
        read_model, stream_field = OrderView, "order_id"

        def handle(self, batch, generation: int) -> None:
            streams = {stored.stream_id for stored, _ in batch}
            found = self.rows(generation).filter(order_id__in=streams)
            rows = {str(row.order_id): row for row in found}
            for stored, event in batch:
                row = rows.get(stored.stream_id)
                if row is None:
                    row = rows[stored.stream_id] = OrderView(
                        generation=generation,
                        order_id=stored.stream_id,
                        version=0,
                        customer_id=MARK,
                        shipping_address={},
                        items=[],
                        order_total=Decimal(0),
                        state="Pending",
                        placed_at=stored.recorded_at,
                        updated_at=stored.recorded_at,
                    )
                if stored.version != row.version + 1 or not isinstance(event, event_type):
                    raise AssertionError(
                        f"{stored.stream_id}: v{stored.version} after {row.version}"
                    )
                row.version, row.updated_at = stored.version, stored.recorded_at
                row.order_total += event.by
            for row in rows.values():
                row.pk = None
            upsert_rows(  # one statement per batch, as orders/projections.py writes
                OrderView,
                self.store.alias,
                list(rows.values()),
                ["generation", "order_id"],
                ["version", "order_total", "updated_at"],
            )

        def rows(self, generation: int):
            return super().rows(generation).filter(customer_id=MARK)

    projection = Totals()
    projection.name, projection.store = f"bench_{store.stream_type}", store
    return projection


def catch_up_phase(
    event_type, codec, events: int, streams: int, stream_type: str = "catchup"
) -> tuple[dict, list[str]]:
    """Write ``events`` over ``streams`` streams (untimed), then time one projection catching
    up from nothing to the last of them: events/s."""
    from django.db import transaction

    from edn_core.eventsourcing import running
    from edn_core.eventsourcing.store import EventStore

    store = EventStore("orders", stream_type, codec)
    per_stream = events // streams
    say(
        f"[catch-up] writing {per_stream * streams} events over {streams} streams "
        f"({streams} per append_many, not timed)"
    )
    ids = [uuid.uuid4() for _ in range(streams)]
    for version in range(per_stream):
        with transaction.atomic(using=store.alias):
            store.append_many([(str(s), version, [event_type(aggregate_id=s, by=1)]) for s in ids])
    projection = define_projection(event_type, store)
    live = running.ensure_live(projection)
    start = time.perf_counter()
    applied = running.catch_up(projection, live.generation)
    seconds = time.perf_counter() - start
    rate = applied / seconds
    say(
        f"  catch-up from nothing: {applied} events in {seconds:.2f} s = {rate:.0f} events/s "
        f"(batches of {projection.batch_size})"
    )
    problems = []
    rows = list(projection.rows(live.generation).values_list("version", "order_total"))
    if applied != per_stream * streams or len(rows) != streams:
        problems.append(f"catch-up: {applied} events applied, {len(rows)} rows")
    elif any(v != per_stream or t != per_stream for v, t in rows):
        problems.append("catch-up: a stream's row is not at its last version and total")
    return {"events": applied, "seconds": seconds, "per_second": rate}, problems


# --- profile ---------------------------------------------------------------------------------


def profiled(title: str, work: Callable[[], int], unit: str, top: int = 20) -> None:
    """cProfile ``work`` (which returns how many ``unit`` it did); print the top functions by
    own time and by cumulative time."""
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    done = work()
    profiler.disable()
    wall = time.perf_counter() - start
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    say(f"\n[profile] {title} under cProfile: {wall / done * 1e6:.0f} µs/{unit}")
    say(out.getvalue())


def profile_all(ours: Ours, counter_types, sizes) -> None:
    """Where ours spends its time: appends (one writer, many streams), loads of a 1,000-event
    aggregate without a snapshot, a catch-up over fresh events."""
    from edn_core.eventsourcing.repository import EventSourcedRepository

    streams = ours.make_streams(200)
    count = sizes["appends"]

    def appends() -> int:
        ours.append_loop(streams, count)
        return count

    event, counter, _, store = counter_types
    aggregate = counter(uuid.uuid4())
    for _ in range(LOAD_EVENTS):
        aggregate.count(1)
    repo = EventSourcedRepository(counter, store)
    repo.add(aggregate)

    def loads() -> int:
        for _ in range(10):
            repo.get(aggregate.id)
        return 10 * LOAD_EVENTS

    profiled(f"{count} appends of ours (one writer, 200 streams)", appends, "append")
    profiled(f"10 loads of a {LOAD_EVENTS}-event aggregate, no snapshot", loads, "event")
    profiled(
        "writing 10,000 events (500 streams) and a catch-up over them",
        lambda: catch_up_phase(event, store.codec, 10000, 500, "profiled")[0]["events"],
        "event",
    )


# --- checks ----------------------------------------------------------------------------------


def check_appends(ours: Ours, lib, database_url: str) -> list[str]:
    """Every stream at its expected version, no event lost or doubled, on both sides."""
    import psycopg

    problems = []
    expected = {str(s): v for s, v in ours.streams}
    with psycopg.connect(database_url) as conn:
        found = dict(
            conn.execute(
                "SELECT stream_id, max(version) FROM orders_orderevent "
                "WHERE stream_type = 'counter' GROUP BY stream_id HAVING count(*) = max(version)"
            ).fetchall()
        )
        ours_rows = conn.execute(
            "SELECT count(*) FROM orders_orderevent WHERE stream_type = 'counter'"
        ).fetchone()[0]
        lib_rows = conn.execute("SELECT count(*) FROM tallies_events").fetchone()[0]
    missing = {s: v for s, v in expected.items() if found.get(s) != v}
    if missing:
        problems.append(f"ours: {len(missing)} streams not at their expected version")
    if ours_rows < sum(expected.values()):
        problems.append(f"ours: {ours_rows} rows, expected at least {sum(expected.values())}")
    lib_expected = sum(t.version for t in lib.tallies)
    if lib_rows != lib_expected:
        problems.append(f"library: {lib_rows} rows in tallies_events, expected {lib_expected}")
    return problems


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--full",
        action="store_true",
        default=os.environ.get("EDN_BENCH_FULL") == "1",
        help="bigger sizes (default: $EDN_BENCH_FULL=1, else sizes that run in < 2 minutes)",
    )
    parser.add_argument("--appends", type=int, help="appends per variant per case")
    parser.add_argument("--streams", type=int, help="streams per side in the many-stream cases")
    parser.add_argument("--threads", type=int, default=8, help="writer threads (default 8)")
    parser.add_argument("--rounds", type=int, help="alternating rounds per case")
    parser.add_argument("--loads", type=int, help="loads per round without a snapshot (x5 with)")
    parser.add_argument("--raw-seconds", type=float, help="seconds of each raw-commit baseline")
    parser.add_argument("--catchup-events", type=int, help="events the projection catches up")
    parser.add_argument("--catchup-streams", type=int, help="streams they are spread over")
    parser.add_argument("--target", type=float, default=TARGET_APPENDS, help="appends vs library")
    parser.add_argument(
        "--target-catch-up", type=float, default=TARGET_CATCH_UP, help="catch-up vs raw commits"
    )
    parser.add_argument(
        "--profile", action="store_true", help="also cProfile ours: appends, loads, catch-up"
    )
    add_postgres_option(parser)
    parser.add_argument("--db-prefix", default="edn_bench_eventsourcing")
    parser.add_argument("--keep-databases", action="store_true")
    args = parser.parse_args(argv)
    pick = 1 if args.full else 0
    args.sizes = {
        name: getattr(args, name) if getattr(args, name) is not None else values[pick]
        for name, values in SIZES.items()
    }
    if args.threads < 1 or args.sizes["streams"] < args.threads:
        parser.error("--threads must be within 1..--streams")
    return args


def report(cases: list, loads: list, catch_up: dict, raw: float, args) -> bool:
    say()
    say("summary")
    passed = True
    target = args.target
    say(f"  raw one-row commits (for scale): {raw:.0f}/s")
    for title, ours, library, ratio, per_round in cases:
        ok = ratio >= target
        passed &= ok
        say(
            f"  appends, {title}: ours {ours.per_second:.0f}/s, library "
            f"{library.per_second:.0f}/s = {ratio:.2f}x (per round, median {per_round:.2f}x; "
            f"CPU µs/append ours {ours.cpu_us:.0f}, library {library.cpu_us:.0f}); "
            f"target >= {target:g}x: {'PASS' if ok else 'FAIL'}"
        )
    for snapshot, ours_ms, _, lib_ms, _ in loads:
        say(
            f"  load of {LOAD_EVENTS} events, {snapshot} snapshot: ours {ours_ms:.2f} ms, "
            f"library {lib_ms:.2f} ms (library/ours {lib_ms / ours_ms:.2f}x)"
        )
    ratio = catch_up["per_second"] / raw
    ok = ratio >= args.target_catch_up
    passed &= ok
    say(
        f"  projection catch-up: {catch_up['per_second']:.0f} events/s, raw one-row commits "
        f"{raw:.0f}/s = {ratio:.2f}x; target >= {args.target_catch_up:g}x: "
        f"{'PASS' if ok else 'FAIL'}"
    )
    return passed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = args.sizes
    stop_cleanly_on_sigterm()
    server = args.postgres.rstrip("/")
    databases = {alias: f"{args.db_prefix}_{alias}" for alias in ALIASES}
    created = False
    try:
        say(f"[setup] recreating databases {', '.join(databases.values())} on {server}")
        pg_version = recreate_databases(server, list(databases.values()))
        created = True
        configure_environment(server, databases, Path(tempfile.mkdtemp(prefix="edn-bench-es-")))
        os.environ["EDN_SERVICES"] = "orders"
        import django
        from django.core.management import call_command

        django.setup()
        from bench.eventsourcing_library import Tallies, library_env

        say(machine_summary(LIBRARIES, f"PostgreSQL {pg_version}", load_average=True, commit=True))
        say(f"postgresql: {server_settings(server, *DURABILITY)} (left as they are)")
        say(f"sizes: {sizes}, threads {args.threads}")
        call_command("migrate_all", stdout=io.StringIO())
        counter_types = define_counter()
        event, _, _, store = counter_types
        ours = Ours(store, event)
        lib_env = library_env(server, databases["orders"], args.threads)
        lib = Library(Tallies(env=lib_env), lib_env)

        raw_before = raw_commits_per_second(server, databases["default"], sizes["raw_seconds"])
        say(f"[baseline] raw one-row commits: {raw_before:.0f}/s")
        streams = sizes["streams"]
        cases = [
            append_case(ours, lib, "one writer, many streams", streams, 1, sizes),
            append_case(ours, lib, "one writer, one stream", 1, 1, sizes),
            append_case(
                ours, lib, f"{args.threads} writers, many streams", streams, args.threads, sizes
            ),
            append_case(
                ours,
                lib,
                f"{args.threads} writer processes, many streams",
                streams,
                args.threads,
                sizes,
                processes=True,
            ),
        ]
        problems = check_appends(ours, lib, f"{server}/{databases['orders']}")
        lib.app.close()
        loads, load_problems = loads_phase(counter_types, store, lib_env, sizes)
        problems += load_problems
        catch_up, catch_up_problems = catch_up_phase(
            event, store.codec, sizes["catchup_events"], sizes["catchup_streams"]
        )
        problems += catch_up_problems
        raw_after = raw_commits_per_second(server, databases["default"], sizes["raw_seconds"])
        raw = (raw_before + raw_after) / 2
        say(f"[baseline] raw one-row commits again: {raw_after:.0f}/s (mean {raw:.0f}/s)")
        if args.profile:
            profile_all(ours, counter_types, sizes)
        passed = report(cases, loads, catch_up, raw, args)
        if problems:
            say("\n[check] FAILED: " + "; ".join(problems))
            return 2
        say("[check] every stream of both sides at its expected version, nothing lost or doubled")
        return 0 if passed else 1
    except KeyboardInterrupt:
        say("\n[abort] interrupted")
        return 2
    except Exception as error:
        say(f"\n[error] {type(error).__name__}: {error}")
        return 2
    finally:
        from django.db import connections

        connections.close_all()
        if created and not args.keep_databases:
            drop_databases(server, list(databases.values()))


if __name__ == "__main__":
    sys.exit(main())
