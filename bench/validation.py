"""Schema validation on consume: its cost per event, and its share of the consumer's cost.

A benchmark, not a test. In one process, on fresh PostgreSQL databases, it measures:

1. **validation, cached**: ``edn_core.schemas.validate_for_consume`` on realistic
   ``v1.CustomerAddressUpdated`` data (built by the customers service's own publication, so
   with its ``dataschema``), the compiled validator taken from the cache -- µs/event;
2. **validation, uncached**: the same call with the validator cache emptied before each event,
   so ``edn_core.schema_checks`` compiles its validators (jsonschema-rs, and
   ``Draft202012Validator`` where that one refuses) every time (what it would cost without
   the cache), and the ratio to 1. Also, for scale, **no cache at all** (the registry's
   tables read and the validator built per event);
3. **the consumer's full per-event cost**: ``deliver(envelope)`` of N distinct valid
   envelopes (a new event id each, the next sequence of its customer) -- parse, validate,
   then in one transaction the latest-wins checkpoint, the inbox row and the orders handler,
   which finds the customer's one open order (placed first through ``PlaceOrder``) and moves
   it to the new address -- µs/event mean, ms p50/p99;
4. **the inbox dedupe cost**: on the path of a new event the duplicate check *is* the inbox
   ``INSERT`` (its unique constraint on ``(consumer, event_id)``; there is no separate
   lookup), so it is measured as the time inside dispatch's ``insert_values`` of the inbox row
   (``edn_core.bulk``, on the raw cursor) during the real
   deliveries of 3, and again in isolation (N inserts in one transaction, rolled back). For
   completeness, the cost of rejecting a duplicate: delivering the same envelopes again
   (parse + validate + checkpoint + failed insert + rollback + the inbox lookup that tells a
   duplicate from another integrity error + resolving any failure row);
5. the share (validation + inbox insert) / per-event cost, PASS/FAIL against the target
   (10 %), and a breakdown of the per-event cost (parse, validation, checkpoint, inbox, handler
   SQL, COMMIT, the rest). PostgreSQL runs with its durable defaults; deliveries with
   ``SET synchronous_commit = off`` on the consumer's connection are reported beside them as a
   clearly labelled secondary figure (``--no-async-commit`` skips them).

Each of ``--repeat`` rounds runs the validation loops (cached and uncached taking turns in
blocks of 100 calls, the median block of each), then sends every customer one new event per
delivery variant -- **durable** (uninstrumented: the headline per-event cost),
**instrumented** (bench-local timers wrapped around ``IntegrationEvent.from_json``,
``schemas.validate_for_consume``, dispatch's inbox ``insert_values`` and
``advance_checkpoints``, the orders connection's
``commit`` and Django's SQL execute wrapper, removed afterwards) and **sync-commit-off** --
the variants taking turns every ``--chunk`` customers in ABBA order, so that drift of the
machine falls on all alike; then the duplicates and the isolated inserts. The share that is
held against the target is taken within the instrumented variant, numerator and denominator
timed on the same deliveries; it is also printed over the durable variant. ``--profile TOP``
adds a cProfile pass and prints where the time goes.

Run from the repository root (PostgreSQL at 127.0.0.1:5432, user postgres, trust auth)::

    .venv/bin/python bench/validation.py --events 2000 --repeat 3

It drops and recreates ``edn_bench_validation_<alias>`` for every alias the settings define
(named by ``--db-prefix``) and drops them at the end unless ``--keep-databases``. Exit status:
0 when the target is met, 1 when it is missed, 2 when deliveries went wrong or the setup broke
-- and 2, with no verdict, unless validation really runs: before measuring, invalid data must
be refused and valid data pass, and every instrumented delivery must have reached the
compiled validator.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.common import add_postgres_option, percentile, say, stop_cleanly_on_sigterm  # noqa: E402
from config.services import SERVICE_APPS  # noqa: E402
from tests.support.postgres import (  # noqa: E402
    drop_databases,
    recreate_databases,
    server_settings,
)
from tests.support.processes import machine_summary  # noqa: E402

TOPIC = "v1.CustomerAddressUpdated"
CONSUMER = "orders.update_shipping_address_of_open_orders"
ALIASES = ("default", *SERVICE_APPS)
WARMUP_EVENTS = 200
VALIDATION = "validation (validate_for_consume, cached)"
INBOX = "inbox row insert (insert_values, the dedupe)"
CHECKPOINT = "checkpoint SQL (latest-wins; carries BEGIN)"
LIBRARIES = {
    "Django": "django",
    "jsonschema": "jsonschema",
    "cloudevents": "cloudevents",
    "psycopg": "psycopg",
}
DURABILITY = ("fsync", "synchronous_commit", "wal_sync_method", "commit_delay")


# --- environment and databases ---------------------------------------------------------------


def configure_environment(server_url: str, databases: dict[str, str], workdir: Path) -> None:
    """Settings come from the environment, so this runs before ``django.setup()``."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DJANGO_DEBUG": "0",  # DEBUG would record every query
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "EDN_JWT_SIGNING_KEY": secrets.token_urlsafe(50),
            # every service: customers publishes, orders consumes, the registry is local
            "EDN_SERVICES": ",".join(SERVICE_APPS),
            "EDN_BUS_IN_PROCESS": "0",  # no relay thread: the bench calls deliver() itself
            "EDN_SCHEMA_VALIDATION": "1",
            "EDN_DATA_DIR": str(workdir),
            "EDN_LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("EDN_SCHEMA_REGISTRY_URL", None)
    for alias, name in databases.items():
        os.environ[f"{alias.upper()}_DATABASE_URL"] = f"{server_url}/{name}"


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


# --- the workload ----------------------------------------------------------------------------


@dataclass
class Workload:
    """N customers with one open order each; every batch sends each of them a new address."""

    customers: list[uuid.UUID]
    sequence: dict[uuid.UUID, int] = field(default_factory=dict)
    street: dict[uuid.UUID, str] = field(default_factory=dict)  # the newest one sent
    batches: int = 0

    def envelopes(self, customers: list[uuid.UUID] | None = None) -> list[str]:
        """One new ``v1.CustomerAddressUpdated`` envelope per customer, as customers publish it:
        built by its ``@publishes`` function (so validated at publish and carrying the
        ``dataschema``), a fresh event id, correlation id and trace, the next sequence."""
        from customers.domain import Address, CustomerAddressUpdated
        from edn_core.events import publication_for

        self.batches += 1
        street = f"{self.batches} Bench Street"
        address = Address(street, "London", "Greater London", "GB", "SW1Y 4JH")
        built = []
        for customer in self.customers if customers is None else customers:
            self.sequence[customer] = self.sequence.get(customer, 1) + 1
            self.street[customer] = street
            event = CustomerAddressUpdated(aggregate_id=customer, shipping_address=address)
            publication = publication_for(event)
            built.append(publication.build("customers", event, self.sequence[customer]).to_json())
        return built


def place_orders(count: int) -> list[uuid.UUID]:
    """Place one open order for each of ``count`` new customers, through the orders command."""
    from django.db import transaction

    from edn_core.cqrs import send
    from orders.commands import PlaceOrder, orders

    customers = [uuid.uuid4() for _ in range(count)]
    address = {
        "street": "12 St James's Square",
        "city": "London",
        "state": "Greater London",
        "country": "GB",
        "postal_code": "SW1Y 4JH",
    }
    for start in range(0, count, 1000):  # one commit per 1000: setup, not measured
        with transaction.atomic(using=orders.alias):
            for customer in customers[start : start + 1000]:
                item = {
                    "product_id": uuid.uuid4(),
                    "product_name": "Analytical Engine",
                    "product_price": Decimal("99.50"),
                    "quantity": 1,
                }
                result = send(
                    PlaceOrder(customer_id=customer, shipping_address=address, items=[item])
                )
                if not result.accepted:
                    raise RuntimeError(f"PlaceOrder refused: {result.message} {result.errors}")
        say(f"  placed {min(start + 1000, count)}/{count} orders")
    return customers


# --- measurements ----------------------------------------------------------------------------


class ValidationOff(RuntimeError):
    """Validation would not run: there is nothing to measure, so no verdict."""


def require_validation() -> None:
    """Refuse to measure unless ``validate_for_consume`` really checks data: a registry is
    installed, validation is on, invalid data is refused and valid data passes. Without a
    schema source the call returns at once and the bench would report a tiny cost."""
    from edn_core import schemas

    if schemas.source() is None or not schemas.validation_enabled():
        raise ValidationOff(
            f"validation is off (schema source {schemas.source()!r}, EDN_SCHEMA_VALIDATION="
            f"{os.environ.get('EDN_SCHEMA_VALIDATION')!r})"
        )
    customer = str(uuid.uuid4())
    try:
        schemas.validate_for_consume(TOPIC, {"customerId": customer, "shippingAddress": {}}, None)
    except schemas.EventSchemaViolation:
        pass
    else:
        raise ValidationOff(f"validate_for_consume accepted a {TOPIC} without an address")
    address = {"street": "1", "city": "L", "state": "L", "country": "GB", "postalCode": "N1"}
    schemas.validate_for_consume(TOPIC, {"customerId": customer, "shippingAddress": address}, None)


def time_validation(events: list[tuple], passes: int, before: Callable | None = None) -> float:
    """µs per ``validate_for_consume`` call over ``events`` (``before`` runs before each)."""
    from edn_core.schemas import validate_for_consume

    started = time.perf_counter_ns()
    for _ in range(passes):
        for topic, data, dataschema in events:
            if before is not None:
                before()
            validate_for_consume(topic, data, dataschema)
    return (time.perf_counter_ns() - started) / 1e3 / (passes * len(events))


def compare_validation(events: list[tuple], passes: int, block: int = 100) -> tuple[float, float]:
    """µs per call, cached validator and validator built per call (the validator cache emptied
    before each): blocks of ``block`` events, the two taking turns in ABBA order; the median
    block of each, so that a burst of load from other processes moves neither."""
    from edn_core import schemas

    cached: list[float] = []
    uncached: list[float] = []
    for number in range(passes):
        for turn, start in enumerate(range(0, len(events), block)):
            chunk = events[start : start + block]
            variants = [(cached, None), (uncached, schemas._cache.checks.clear)]
            for sink, before in variants if (number + turn) % 2 == 0 else variants[::-1]:
                sink.append(time_validation(chunk, 1, before))
    return statistics.median(cached), statistics.median(uncached)


@dataclass
class Pass:
    label: str
    expect: str
    latencies_ns: list[int] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)

    @property
    def mean_us(self) -> float:
        return sum(self.latencies_ns) / len(self.latencies_ns) / 1e3

    def p_ms(self, q: float) -> float:
        return percentile(sorted(self.latencies_ns), q) / 1e6

    def deliver(self, envelopes: list[str]) -> None:
        """``deliver`` each envelope, timing each call on its own."""
        from edn_core.bus.dispatch import deliver

        for envelope in envelopes:
            started = time.perf_counter_ns()
            result = deliver(envelope)
            self.latencies_ns.append(time.perf_counter_ns() - started)
            self.outcomes[
                result.get(CONSUMER, "missing") if len(result) == 1 else repr(result)
            ] += 1

    def check(self) -> Pass:
        if set(self.outcomes) != {self.expect}:
            raise RuntimeError(
                f"{self.label}: expected every outcome {self.expect!r}, got {dict(self.outcomes)}"
            )
        return self


def deliver_all(label: str, envelopes: list[str], expect: str) -> Pass:
    run = Pass(label, expect)
    for start in range(0, len(envelopes), 1000):
        run.deliver(envelopes[start : start + 1000])
        done = min(start + 1000, len(envelopes))
        say(f"    {label}: {done}/{len(envelopes)} events, {run.mean_us:8.1f} µs/event so far")
    return run.check()


@dataclass
class Variant:
    run: Pass
    context: Callable[[], AbstractContextManager]
    envelopes: list[str] = field(default_factory=list)  # as delivered


def deliver_interleaved(variants: list[Variant], workload: Workload, chunk: int) -> None:
    """Send every customer one new event per variant, ``chunk`` customers at a time, the
    variants taking turns in ABBA order so that drift of the machine falls on all alike.
    Envelopes are built (untimed) just before their turn, so sequences rise in delivery
    order and no event is stale."""
    count = len(workload.customers)
    reported = 0
    for number, start in enumerate(range(0, count, chunk)):
        customers = workload.customers[start : start + chunk]
        for variant in variants if number % 2 == 0 else variants[::-1]:
            envelopes = workload.envelopes(customers)
            variant.envelopes += envelopes
            with variant.context():
                variant.run.deliver(envelopes)
        done = min(start + chunk, count)
        if done - reported >= 1000 or done == count:
            reported = done
            means = ", ".join(f"{v.run.label} {v.run.mean_us:8.1f}" for v in variants)
            say(f"    {done}/{count} events each: µs/event so far: {means}")
    for variant in variants:
        variant.run.check()


@contextmanager
def asynchronous_commit() -> Iterator[None]:
    """``SET synchronous_commit = off`` on the consumer's connection (secondary figure only)."""
    from django.db import connections

    with connections["orders"].cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    try:
        yield
    finally:
        with connections["orders"].cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def time_inbox_inserts(count: int) -> float:
    """µs per inbox row insert, as dispatch writes it, inside one transaction (rolled back)."""
    from django.db import transaction
    from django.utils import timezone

    from edn_core.bulk import insert_values
    from edn_core.bus.dispatch import INBOX_FIELDS
    from edn_core.bus.stores import store_for

    store = store_for("orders")
    rows = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(count + 1)]
    total = 0
    with transaction.atomic(using=store.alias):
        for index, (event_id, aggregate_id) in enumerate(rows):
            started = time.perf_counter_ns()
            row = (CONSUMER, event_id, TOPIC, aggregate_id, 2, "handled", timezone.now())
            insert_values(store.inbox, store.alias, INBOX_FIELDS, [row])
            if index:  # the first one also opens the transaction (BEGIN)
                total += time.perf_counter_ns() - started
        transaction.set_rollback(True, using=store.alias)
    return total / 1e3 / count


def sql_kind(sql: str) -> str:
    text = sql.lstrip().lower()
    if "inboxentry" in text:
        return "inbox"
    if "aggregatecheckpoint" in text:
        return "checkpoint"
    if "faileddelivery" in text:
        return "failed-delivery"
    if text.startswith(("savepoint", "release savepoint", "rollback to savepoint")):
        return "savepoint"
    return "handler"


class Probe:
    """Bench-local timers around the consumer's steps, installed for one pass, then removed."""

    def __init__(self) -> None:
        self.ns: Counter = Counter()
        self.calls: Counter = Counter()

    def add(self, key: str, started: int) -> None:
        self.ns[key] += time.perf_counter_ns() - started
        self.calls[key] += 1

    @contextmanager
    def installed(self) -> Iterator[Probe]:
        from django.db import connections

        from edn_core import schemas
        from edn_core.bus import dispatch
        from edn_core.bus.stores import store_for
        from edn_core.events import IntegrationEvent

        store = store_for("orders")
        inbox, consumer_db = store.inbox, connections[store.alias]
        from_json = IntegrationEvent.__dict__["from_json"]
        parse = IntegrationEvent.from_json
        validate = schemas.validate_for_consume
        errors = schemas._errors  # the compiled validator's call: reached only when validating
        # the inbox row and the checkpoint are written by edn_core.bulk on the raw cursor,
        # which Django's execute wrappers do not see: timed around dispatch's calls
        insert_values, advance_checkpoints = dispatch.insert_values, dispatch.advance_checkpoints
        commit = consumer_db.commit

        def timed_parse(cls, raw):
            started = time.perf_counter_ns()
            try:
                return parse(raw)
            finally:
                self.add("parse", started)

        def timed_validate(*args, **kwargs):
            started = time.perf_counter_ns()
            try:
                return validate(*args, **kwargs)
            finally:
                self.add("validation", started)

        def timed_insert_values(model, *args):
            started = time.perf_counter_ns()
            try:
                return insert_values(model, *args)
            finally:
                self.add("inbox" if model is inbox else "sql orders handler", started)

        def timed_checkpoints(*args):
            started = time.perf_counter_ns()
            try:
                return advance_checkpoints(*args)
            finally:
                self.add("sql orders checkpoint", started)

        def timed_commit():
            started = time.perf_counter_ns()
            try:
                return commit()
            finally:
                self.add("commit", started)

        def timed_sql(execute, sql, params, many, context):
            started = time.perf_counter_ns()
            try:
                return execute(sql, params, many, context)
            finally:
                self.add(f"sql {context['connection'].alias} {sql_kind(sql)}", started)

        def counted_errors(*args):
            self.calls["validator"] += 1
            return errors(*args)

        IntegrationEvent.from_json = classmethod(timed_parse)
        schemas.validate_for_consume = timed_validate
        schemas._errors = counted_errors
        dispatch.insert_values = timed_insert_values
        dispatch.advance_checkpoints = timed_checkpoints
        consumer_db.commit = timed_commit
        try:
            with ExitStack() as stack:
                for alias in connections:
                    stack.enter_context(connections[alias].execute_wrapper(timed_sql))
                yield self
        finally:
            IntegrationEvent.from_json = from_json
            schemas.validate_for_consume = validate
            schemas._errors = errors
            dispatch.insert_values = insert_values
            dispatch.advance_checkpoints = advance_checkpoints
            del consumer_db.commit


@dataclass
class Breakdown:
    total_us: float
    parts: dict[str, float]  # µs/event
    statements: dict[str, float]  # per event, by alias and kind


def breakdown_of(probe: Probe, run: Pass) -> Breakdown:
    n = len(run.latencies_ns)
    us = {key: value / 1e3 / n for key, value in probe.ns.items()}
    total = run.mean_us
    parts = {
        "parse envelope (IntegrationEvent.from_json)": us.get("parse", 0.0),
        VALIDATION: us.get("validation", 0.0),
        CHECKPOINT: us.get("sql orders checkpoint", 0.0),
        INBOX: us.get("inbox", 0.0),
        "handler SQL (orders reads, update, savepoints)": us.get("sql orders handler", 0.0)
        + us.get("sql orders savepoint", 0.0),
        "COMMIT (WAL flush)": us.get("commit", 0.0),
    }
    counted = sum(v for k, v in parts.items() if not k.startswith("  "))
    parts["everything else (Python: dispatch, ORM, domain, tracing)"] = total - counted
    statements = {
        key.removeprefix("sql "): count / n
        for key, count in sorted(probe.calls.items())
        if key.startswith("sql ")
    }
    return Breakdown(total, parts, statements)


def profile_pass(envelopes: list[str], top: int) -> None:
    """cProfile one pass of deliveries; print where the time goes (tottime), per event."""
    profiler = cProfile.Profile()
    profiler.enable()
    run = Pass("profiled pass", "handled")
    run.deliver(envelopes)
    run.check()
    profiler.disable()
    n = len(run.latencies_ns)
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = []
    by_package: Counter = Counter()
    for (filename, line, function), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():
        where = short_path(filename)
        rows.append((tottime, cumtime, calls, f"{where}:{line}({function})"))
        by_package[package_of(filename, function)] += tottime
    total = sum(by_package.values())
    say(f"\n[profile] one pass of {n} deliveries under cProfile (which inflates Python time)")
    say(f"  wall {run.mean_us:.1f} µs/event; profiled time {total / n * 1e6:.1f} µs/event")
    say("  own time by package, µs/event:")
    for package, seconds in by_package.most_common(12):
        say(f"    {seconds / n * 1e6:8.1f}  {100 * seconds / total:5.1f} %  {package}")
    say(f"  top {top} functions by own time (µs/event own, µs/event cumulative, calls/event):")
    for tottime, cumtime, calls, name in sorted(rows, reverse=True)[:top]:
        say(f"    {tottime / n * 1e6:8.1f} {cumtime / n * 1e6:9.1f} {calls / n:6.1f}  {name}")
    ours = [
        (cumtime, calls, f"{short_path(filename)}:{line}({function})")
        for (filename, line, function), (_cc, calls, _tt, cumtime, _callers) in stats.stats.items()
        if filename.startswith(str(ROOT))
        and "site-packages" not in filename
        and not filename.startswith(str(ROOT / "bench"))
    ]
    say(f"  top {top} project functions by cumulative time (µs/event, calls/event):")
    for cumtime, calls, name in sorted(ours, reverse=True)[:top]:
        say(f"    {cumtime / n * 1e6:9.1f} {calls / n:6.1f}  {name}")


def short_path(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1]
    if filename.startswith(str(ROOT)):
        return filename[len(str(ROOT)) + 1 :]
    return filename


def package_of(filename: str, function: str) -> str:
    if filename == "~":  # C functions: socket waits, psycopg's C core, json, ...
        return f"(C) {function}"
    path = short_path(filename)
    parts = path.split("/")
    if path.startswith(("django/", "psycopg/", "cloudevents/")) and len(parts) > 2:
        return "/".join(parts[:3]) if parts[1] == "db" else "/".join(parts[:2])
    if "/" not in path or path.startswith("/"):
        return "python stdlib" if "python3" in path else path
    return parts[0] if not path.startswith(("edn_core/", "orders/")) else "/".join(parts[:-1])


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Round:
    cached_us: float
    uncached_us: float
    no_cache_us: float
    full: Pass
    instrumented: Pass
    breakdown: Breakdown
    duplicate: Pass
    inbox_isolated_us: float
    async_full: Pass | None
    validated: int = 0  # calls of the compiled validator during the instrumented pass
    inbox_rows: int = 0  # inbox inserts timed during the instrumented pass

    @property
    def numerator_us(self) -> float:
        """Validation plus inbox dedupe, in situ, µs/event."""
        return self.breakdown.parts[VALIDATION] + self.breakdown.parts[INBOX]

    @property
    def share(self) -> float:
        """Of the instrumented pass itself: the same events, timed at the same moment."""
        return self.numerator_us / self.instrumented.mean_us


def run_round(index: int, args: argparse.Namespace, workload: Workload) -> Round:
    from edn_core import schemas
    from edn_core.events import IntegrationEvent

    say(f"\n[round {index}/{args.repeat}]")
    # data dicts for the validation loops (never delivered; later events take newer sequences)
    sample = [IntegrationEvent.from_json(e) for e in workload.envelopes()]
    events = [(e.topic, e.data, e.dataschema) for e in sample]
    cached, uncached = compare_validation(events, args.validation_passes)
    no_cache = time_validation(events, 1, before=schemas._cache.clear)
    say(
        f"  validation: cached {cached:.1f} µs/event, uncached validator {uncached:.1f} "
        f"µs/event ({uncached / cached:.2f}x), no cache at all {no_cache:.1f} µs/event"
    )

    probe = Probe()
    variants = [
        Variant(Pass("durable", "handled"), nullcontext),
        Variant(Pass("instrumented", "handled"), probe.installed),
    ]
    if not args.no_async_commit:
        variants.append(Variant(Pass("sync-commit-off", "handled"), asynchronous_commit))
    say(
        f"  deliveries of new events, {len(variants)} variants taking turns every {args.chunk}: "
        + ", ".join(v.run.label for v in variants)
    )
    deliver_interleaved(variants, workload, args.chunk)
    full, instrumented = variants[0].run, variants[1].run
    breakdown = breakdown_of(probe, instrumented)
    say(
        f"    in situ: validation {breakdown.parts[VALIDATION]:.1f} µs/event, "
        f"inbox insert {breakdown.parts[INBOX]:.1f} µs/event"
    )

    say("  duplicate deliveries (the durable variant's envelopes again):")
    duplicate = deliver_all("redeliver", variants[0].envelopes, "duplicate")

    inbox_isolated = time_inbox_inserts(args.events)
    say(f"  inbox insert in isolation: {inbox_isolated:.1f} µs/insert")

    result = Round(
        cached,
        uncached,
        no_cache,
        full,
        instrumented,
        breakdown,
        duplicate,
        inbox_isolated,
        variants[2].run if len(variants) > 2 else None,
        probe.calls["validator"],
        probe.calls["inbox"],
    )
    say(
        f"  round {index}: full {full.mean_us:.1f} µs/event (p50 {full.p_ms(0.5):.2f} ms, "
        f"p99 {full.p_ms(0.99):.2f} ms); validation + inbox insert = "
        f"{result.numerator_us:.1f} µs = {100 * result.share:.2f} % of the instrumented pass"
    )
    return result


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float], fmt: str = ".1f") -> str:
    return " / ".join(format(v, fmt) for v in values)


def report(rounds: list[Round], target_pct: float) -> bool:
    def row(label: str, values: list[float], unit: str = "µs/event", fmt: str = ".1f") -> None:
        say(f"  {label:<60} {median(values):>9{fmt}} {unit:<9} {spread(values, fmt)}")

    say(f"\n[results] medians over {len(rounds)} round(s); then each round's figure")
    cached = [r.cached_us for r in rounds]
    uncached = [r.uncached_us for r in rounds]
    say("validation alone (validate_for_consume over the N data dicts; median of 100-call blocks):")
    row("cached validator", cached)
    row("validator built per event (cache emptied before each)", uncached)
    row(
        "  ratio uncached / cached",
        [u / c for u, c in zip(uncached, cached, strict=True)],
        "x",
        ".2f",
    )
    row("no cache at all (registry read + build, per event)", [r.no_cache_us for r in rounds])
    say("consumer, per event: deliver(envelope) of a new event, durable commit (uninstrumented):")
    row("full per-event cost, mean", [r.full.mean_us for r in rounds])
    row("  p50", [r.full.p_ms(0.5) for r in rounds], "ms", ".2f")
    row("  p99", [r.full.p_ms(0.99) for r in rounds], "ms", ".2f")
    say("inbox dedupe:")
    row(
        "inbox row insert, in situ (the dedupe of a new event)",
        [r.breakdown.parts[INBOX] for r in rounds],
    )
    row("inbox row insert in isolation (in a transaction)", [r.inbox_isolated_us for r in rounds])
    row(
        "duplicate delivery, rejected by the inbox (whole call)",
        [r.duplicate.mean_us for r in rounds],
    )
    totals = [r.instrumented.mean_us for r in rounds]
    say("breakdown of the instrumented pass (µs/event, % of its total; then each round):")
    for key in rounds[0].breakdown.parts:
        values = [r.breakdown.parts[key] for r in rounds]
        share = median(values) / median(totals)
        say(f"  {key:<60} {median(values):>9.1f} {100 * share:5.1f} %   {spread(values)}")
    total_label = "total (instrumented pass, mean of deliver())"
    say(f"  {total_label:<60} {median(totals):>9.1f} {'':9} {spread(totals)}")
    statements = ", ".join(f"{k} {v:.1f}" for k, v in rounds[0].breakdown.statements.items())
    say(f"  SQL statements per event (alias, kind): {statements}")

    shares = [100 * r.share for r in rounds]
    say("share of the per-event cost:")
    row("(validation + inbox insert) / instrumented pass  [the target]", shares, "%", ".2f")
    row(
        "  same over the uninstrumented pass",
        [100 * r.numerator_us / r.full.mean_us for r in rounds],
        "%",
        ".2f",
    )
    row(
        "  same with the isolated figures (micro cached + isolated)",
        [100 * (r.cached_us + r.inbox_isolated_us) / r.full.mean_us for r in rounds],
        "%",
        ".2f",
    )
    row(
        "  for scale: adding the latest-wins checkpoint (not dedupe)",
        [
            100 * (r.numerator_us + r.breakdown.parts[CHECKPOINT]) / r.instrumented.mean_us
            for r in rounds
        ],
        "%",
        ".2f",
    )
    if all(r.async_full is not None for r in rounds):
        say("SECONDARY, not durable (SET synchronous_commit = off on the consumer's connection):")
        row("full per-event cost, mean", [r.async_full.mean_us for r in rounds])
        row("  p50", [r.async_full.p_ms(0.5) for r in rounds], "ms", ".2f")
        row("  p99", [r.async_full.p_ms(0.99) for r in rounds], "ms", ".2f")
        row(
            "(validation + inbox insert, in situ) / this cost",
            [100 * r.numerator_us / r.async_full.mean_us for r in rounds],
            "%",
            ".2f",
        )
    passed = median(shares) <= target_pct
    verdict = "PASS" if passed else "FAIL"
    say(
        f"target: validation + inbox dedupe <= {target_pct:g} % of the per-event cost: {verdict} "
        f"({median(shares):.2f} %; rounds {spread(shares, '.2f')} %)"
    )
    return passed


def check_measured(rounds: list[Round]) -> list[str]:
    """Every instrumented delivery went through the compiled validator and had its inbox
    insert timed: the numerator of the target holds what it names."""
    problems = []
    for number, r in enumerate(rounds, start=1):
        deliveries = len(r.instrumented.latencies_ns)
        for what, count in (("the validator ran", r.validated), ("inbox rows", r.inbox_rows)):
            if count != deliveries:
                problems.append(f"round {number}: {what} {count} times for {deliveries} deliveries")
    return problems


def check_state(workload: Workload, handled: int) -> list[str]:
    """The deliveries had their effect: inbox rows, no failures, every order moved."""
    from edn_core.bus.stores import store_for
    from orders.models import OrderEvent
    from orders.store import orders

    store = store_for("orders")
    problems = []
    inbox = store.rows(store.inbox).filter(consumer=CONSUMER).count()
    if inbox != handled:
        problems.append(f"inbox holds {inbox} rows of {CONSUMER}, expected {handled}")
    failures = store.rows(store.failures).count()
    if failures:
        problems.append(f"{failures} failed deliveries recorded")
    streams = OrderEvent.objects.using(store.alias).filter(type="OrderPlaced")
    loaded = orders.get_many(uuid.UUID(s) for s in streams.values_list("stream_id", flat=True))
    rows = [(o.customer_id, o.shipping_address.street) for o in loaded.values()]
    behind = [c for c, street in rows if street != workload.street[c]]
    if behind:
        problems.append(f"{len(behind)} orders not at their customer's newest address")
    return problems


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="events per pass (default 2000)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    parser.add_argument(
        "--validation-passes",
        type=int,
        default=5,
        help="passes over the events for the validation figures (default 5)",
    )
    parser.add_argument(
        "--chunk",
        type=int,
        default=100,
        help="events per turn when the delivery variants alternate (default 100)",
    )
    parser.add_argument(
        "--target", type=float, default=10.0, help="max share in percent (default 10)"
    )
    parser.add_argument(
        "--no-async-commit",
        action="store_true",
        help="skip the secondary pass with SET synchronous_commit = off",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="TOP",
        help="after the rounds, cProfile one pass and print the TOP functions (default off)",
    )
    add_postgres_option(parser)
    parser.add_argument("--db-prefix", default="edn_bench_validation", help="database name prefix")
    parser.add_argument("--keep-databases", action="store_true", help="do not drop them at the end")
    args = parser.parse_args(argv)
    for name in ("events", "repeat", "validation_passes", "chunk"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_cleanly_on_sigterm()
    server_url = args.postgres.rstrip("/")
    databases = {alias: f"{args.db_prefix}_{alias}" for alias in ALIASES}
    workdir = Path(tempfile.mkdtemp(prefix="edn-bench-validation-"))
    created = False
    try:
        say(f"[setup] recreating databases {', '.join(databases.values())} on {server_url}")
        pg_version = recreate_databases(server_url, list(databases.values()))
        created = True
        configure_environment(server_url, databases, workdir)
        import django
        from django.core.management import call_command
        from django.db import connections

        django.setup()
        say(machine_summary(LIBRARIES, f"PostgreSQL {pg_version}"))
        say(f"postgresql: {server_settings(server_url, *DURABILITY)} (left as they are)")
        say(f"load average at start: {load_average()} (other processes share these cores)")
        if set(connections) != set(databases):
            raise RuntimeError(f"settings define aliases {list(connections)}, not {ALIASES}")
        say("[setup] migrate_all")
        call_command("migrate_all", stdout=io.StringIO())
        say("[setup] edn_schemas register")
        out = io.StringIO()
        call_command("edn_schemas", "register", stdout=out)
        for line in out.getvalue().splitlines():
            if TOPIC in line:
                say(f"  {line.strip()}")

        require_validation()
        say("[check] validation is on: invalid data refused, valid data passes")

        say(f"[setup] placing {args.events} orders (one open order per customer)")
        workload = Workload(place_orders(args.events))
        handled = 0

        say(f"[warmup] {min(WARMUP_EVENTS, args.events)} deliveries, untimed")
        deliver_all("warmup", workload.envelopes(workload.customers[:WARMUP_EVENTS]), "handled")
        handled += min(WARMUP_EVENTS, args.events)

        rounds = []
        for index in range(1, args.repeat + 1):
            rounds.append(run_round(index, args, workload))
            handled += args.events * (2 if args.no_async_commit else 3)
        if args.profile:
            profile_pass(workload.envelopes(), args.profile)
            handled += args.events
        problems = check_measured(rounds) + check_state(workload, handled)
        for problem in problems:
            say(f"[check] {problem}")
        if problems:  # the figures would describe a broken run: no verdict
            say("[check] the run went wrong: no verdict")
            connections.close_all()
            return 2
        say(f"[check] {handled} inbox rows, no failed deliveries, every order moved, every")
        say("        instrumented delivery validated and its inbox insert timed")
        passed = report(rounds, args.target)
        say(f"load average at the end: {load_average()}")
        connections.close_all()
        return 0 if passed else 1
    except ValidationOff as error:
        say(f"\n[refused] {error}: the bench measures nothing, so it gives no verdict")
        return 2
    except KeyboardInterrupt:
        say("\n[abort] interrupted")
        return 2
    except Exception as error:
        say(f"\n[error] {type(error).__name__}: {error}")
        traceback.print_exc()
        return 2
    finally:
        if created and not args.keep_databases:
            try:
                from django.db import connections

                connections.close_all()
            except Exception:  # django not set up yet
                pass
            try:
                drop_databases(server_url, list(databases.values()))
                say("[teardown] dropped the bench databases")
            except psycopg.Error as error:
                say(f"[teardown] could not drop the bench databases: {error}")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
