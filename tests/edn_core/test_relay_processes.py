"""Relays as real OS processes on PostgreSQL: crash recovery and per-aggregate order.

5,000 ``v1.CustomerAddressUpdated`` events over 200 customers, each customer with one open
order. Every applied event moves that order's version by one, so a duplicate effect would
show as a version above 1 + 25; the orders inbox records the order in which events were
applied, per customer. One test publishes to a real RabbitMQ instead (the rest use the local
transport), and delivers the queue's messages in the test's process as a worker would.

No step waits for time to pass: relays are stopped at pause points
(:mod:`edn_core.testing_hooks`) and observed through ``pg_locks`` / ``pg_stat_activity``
(each relay's sessions carry its own ``application_name``).
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.db import connections, transaction

from customers.domain import Address as CustomerAddress
from customers.domain import CustomerAddressUpdated
from customers.models import OutboxMessage
from edn_core.bus import relay as relay_module
from edn_core.bus.outbox import PARTITIONS, write_outbox
from edn_core.bus.stores import store_for
from edn_core.cqrs import send
from edn_core.testing_hooks import PausePoints
from orders.commands import PlaceOrder
from orders.models import InboxEntry
from tests.orders.factories import stored_orders

ROOT = Path(__file__).resolve().parents[2]
CUSTOMERS, EVENTS_EACH = 200, 25
CONSUMER = "orders.update_shipping_address_of_open_orders"
pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def _url(alias: str, application: str = "") -> str:
    s = connections[alias].settings_dict
    url = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    return f"{url}?application_name={application}" if application else url


class Relay(subprocess.Popen):
    """``manage.py edn_relay`` in its own process; ``points`` drive its pause points."""

    session: str  # the application_name of its database sessions
    points: PausePoints


def start_relay(
    tmp_path: Path, name: str, sweep: float = 0.5, pause_at=(), **settings: str
) -> Relay:
    """Start a relay. ``sweep``: seconds between its recovery sweeps (it wakes on NOTIFY);
    ``pause_at``: points (tuples) armed before it starts; ``settings``: more environment."""
    session = f"edn-relay-{name}-{uuid.uuid4().hex[:8]}"  # unique among concurrent runs
    points = PausePoints(tmp_path / f"{name}-points")
    for point in pause_at:
        points.arm(*point)
    env = {
        **os.environ,
        **points.env(),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "EDN_BUS_SWEEP_SECONDS": str(sweep),
        # the address flow only: with sagas hosted, the seeded orders would be rejected
        "EDN_SERVICES": "customers,orders",
        **{f"{alias.upper()}_DATABASE_URL": _url(alias, session) for alias in connections},
        **settings,
    }
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115  closed with the process
    process = Relay(
        [sys.executable, "manage.py", "edn_relay"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    process.session, process.points = session, points
    return process


def observer() -> psycopg.Connection:
    """A session of the test's own on the customers database."""
    return psycopg.connect(_url("customers"), autocommit=True)


def partitions_held(db: psycopg.Connection, relay: Relay) -> list[int]:
    """The customers outbox partitions whose lock a session of ``relay`` holds now."""
    key = relay_module._lock_class(store_for("customers"))
    rows = db.execute(
        "SELECT l.objid::int FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
        " AND l.classid::bigint = %s AND a.application_name = %s ORDER BY 1",
        [key, relay.session],
    )
    return [row[0] for row in rows.fetchall()]


def sessions_of(db: psycopg.Connection, relay: Relay) -> int:
    query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
    return db.execute(query, [relay.session]).fetchone()[0]


def seed(count: int = CUSTOMERS) -> dict[uuid.UUID, CustomerAddress]:
    """One open order per customer; 25 address changes per customer, interleaved."""
    customers = [uuid.uuid4() for _ in range(count)]
    first = {"street": "0 Start St", "city": "C", "state": "S", "country": "X", "postal_code": "0"}
    for customer in customers:
        send(
            PlaceOrder(
                customer_id=customer,
                shipping_address=first,
                items=[
                    {
                        "product_id": uuid.uuid4(),
                        "product_name": "Widget",
                        "product_price": Decimal("1.00"),
                        "quantity": 1,
                    }
                ],
            )
        )
    events = []
    for n in range(1, EVENTS_EACH + 1):
        for customer in customers:
            address = CustomerAddress(f"{n} Road", "C", "S", "X", str(n))
            events.append(
                (n, CustomerAddressUpdated(aggregate_id=customer, shipping_address=address))
            )
    with transaction.atomic(using="customers"):
        write_outbox("customers", events)
    return {
        c: CustomerAddress(f"{EVENTS_EACH} Road", "C", "S", "X", str(EVENTS_EACH))
        for c in customers
    }


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def delivered() -> int:
    return InboxEntry.objects.filter(consumer=CONSUMER).count()


def sent() -> int:
    return OutboxMessage.objects.filter(sent_at__isnull=False).count()


def assert_all_applied_once_in_order(last_address: dict) -> None:
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 0
    entries = list(
        InboxEntry.objects.filter(consumer=CONSUMER)
        .order_by("id")
        .values_list("aggregate_id", "sequence", "outcome")
    )
    assert len(entries) == len(last_address) * EVENTS_EACH  # every event once, none twice
    per_customer: dict[str, list[tuple[int, str]]] = {}
    for aggregate, sequence, outcome in entries:
        per_customer.setdefault(aggregate, []).append((sequence, outcome))
    for seen in per_customer.values():
        assert sorted(s for s, _ in seen) == list(range(1, EVENTS_EACH + 1))
        # latest wins: events superseded within one delivery batch are recorded stale;
        # the applied ones came in order, and the newest was applied
        applied = [s for s, outcome in seen if outcome == "handled"]
        assert applied == sorted(applied) and applied[-1] == EVENTS_EACH
    handled = {a: sum(o == "handled" for _, o in seen) for a, seen in per_customer.items()}
    for order in stored_orders():
        assert order.version == 1 + handled[str(order.customer_id)], "an event had two effects"
        assert order.shipping_address == _as_order_address(last_address[order.customer_id])


def _as_order_address(address: CustomerAddress):
    from orders.domain import Address

    return Address(*address.__dict__.values())


def stop(*processes: subprocess.Popen) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_sigkill_mid_batch_then_restart_loses_nothing_and_duplicates_have_no_effect(
    require_postgres, tmp_path
):
    require_postgres("customers", "orders")
    last = seed(count=80)
    total = len(last) * EVENTS_EACH
    # Hold row locks on the outbox from here, so the relay's "mark sent" waits: the kill lands
    # after the consumer committed a batch and before the relay recorded it as sent.
    import psycopg

    blocker = psycopg.connect(_url("customers"))
    blocker.execute("SELECT id FROM customers_outboxmessage FOR UPDATE").fetchall()
    relay = start_relay(tmp_path, "first")
    try:
        wait_until(lambda: delivered() >= 500 and delivered() > sent(), 120, "a batch in flight")
        relay.send_signal(signal.SIGKILL)
        relay.wait(timeout=10)
        blocker.rollback()
        blocker.close()
        in_flight = delivered() - sent()
        assert in_flight > 0, "the kill must land between delivery and the sent mark"
        assert sent() < total
        relay = start_relay(tmp_path, "second")
        wait_until(lambda: delivered() == total and sent() == total, 180, "the rest after restart")
    finally:
        stop(relay)
    assert_all_applied_once_in_order(last)


def sent_in(partitions) -> int:
    return OutboxMessage.objects.filter(partition__in=partitions, sent_at__isnull=False).count()


def rows_in(partitions) -> int:
    return OutboxMessage.objects.filter(partition__in=partitions).count()


def test_two_relays_on_one_alias_keep_per_aggregate_order(require_postgres, tmp_path):
    """Each relay publishes only the partitions it holds. Relay a claims the lower half (the
    test holds the upper half) and is stopped there; relay b, started then, claims the upper
    half and publishes all of it while a holds the rest -- none of a's rows -- then a
    publishes its own."""
    require_postgres("customers", "orders")
    last = seed()
    lower, upper = list(range(PARTITIONS // 2)), list(range(PARTITIONS // 2, PARTITIONS))
    assert rows_in(lower) and rows_in(upper)
    key = relay_module._lock_class(store_for("customers"))
    a = b = None
    with observer() as db:
        db.execute("SELECT pg_advisory_lock(%s, p) FROM unnest(%s::int[]) AS p", [key, upper])
        try:
            a = start_relay(tmp_path, "a", pause_at=[("relay.claimed", "customers")])
            a.points.wait_paused("relay.claimed", "customers")
            assert partitions_held(db, a) == lower
            db.execute("SELECT pg_advisory_unlock_all()")
            b = start_relay(tmp_path, "b")
            wait_until(lambda: sent_in(upper) == rows_in(upper), 240, "b to publish its half")
            assert (partitions_held(db, a), partitions_held(db, b)) == (lower, upper)
            assert sent_in(lower) == 0, "b published partitions that a holds"
            a.points.release("relay.claimed", "customers")
            total = CUSTOMERS * EVENTS_EACH
            wait_until(lambda: sent() == delivered() == total, 240, "a to publish its half")
            assert (partitions_held(db, a), partitions_held(db, b)) == (lower, upper)
            assert a.poll() is None and b.poll() is None, "a relay died"
        finally:
            stop(*(r for r in (a, b) if r is not None))
    assert_all_applied_once_in_order(last)


def test_relay_wakes_on_commit_not_on_its_sweep(require_postgres, tmp_path):
    """With an hour between sweeps, only LISTEN/NOTIFY can wake the idle relay: it is stopped
    at ``worker.idle`` (its round over, about to wait) when the event is committed."""
    require_postgres("customers", "orders")
    last = seed(count=1)
    relay = start_relay(tmp_path, "listener", sweep=3600, pause_at=[("worker.idle",)])
    try:
        relay.points.wait_paused("worker.idle")
        assert delivered() == EVENTS_EACH  # the first drain at start
        (customer,) = last
        moved = CustomerAddress("99 Late St", "C", "S", "X", "99")
        with transaction.atomic(using="customers"):
            event = CustomerAddressUpdated(aggregate_id=customer, shipping_address=moved)
            write_outbox("customers", [(EVENTS_EACH + 1, event)])
        relay.points.release("worker.idle")
        wait_until(lambda: delivered() == EVENTS_EACH + 1, 120, "the relay woken by NOTIFY")
    finally:
        stop(relay)
    (order,) = stored_orders(customer_id=customer)
    assert order.shipping_address.street == "99 Late St"


def move(customer: uuid.UUID, n: int) -> None:
    """Commit address change number ``n`` of ``customer`` (its NOTIFY wakes every relay)."""
    address = CustomerAddress(f"{n} Standby Row", "C", "S", "X", str(n))
    with transaction.atomic(using="customers"):
        event = CustomerAddressUpdated(aggregate_id=customer, shipping_address=address)
        write_outbox("customers", [(n, event)])


def test_a_standby_relay_takes_over_when_the_active_one_dies(require_postgres, tmp_path):
    """A long-running relay keeps its partition locks; a second one stands by -- holding no
    partition and publishing nothing, even through a round with an event pending -- and takes
    them all over once the first one's database session has ended."""
    require_postgres("customers", "orders")
    (customer,) = seed(count=1)
    claimed = ("relay.claimed", "customers")
    active = start_relay(tmp_path, "active", sweep=3600)
    standby = None
    with observer() as db:
        try:
            wait_until(lambda: delivered() == EVENTS_EACH, 120, "the active relay's first drain")
            wait_until(lambda: partitions_held(db, active), 120, "the active relay's locks")
            assert partitions_held(db, active) == list(range(PARTITIONS))
            standby = start_relay(tmp_path, "standby", sweep=3600, pause_at=[claimed])
            standby.points.wait_paused(*claimed)  # its start-up drain
            assert partitions_held(db, standby) == []
            standby.points.release(*claimed)
            active.points.arm(*claimed)
            standby.points.arm(*claimed)
            move(customer, EVENTS_EACH + 1)  # both wake; the active one stops holding all
            active.points.wait_paused(*claimed)
            standby.points.wait_paused(*claimed)
            assert partitions_held(db, standby) == [] and sent() == EVENTS_EACH
            standby.points.release(*claimed)  # a whole round with an event pending ...
            standby.points.arm(*claimed)
            move(customer, EVENTS_EACH + 2)  # ... over when it claims again
            standby.points.wait_paused(*claimed)
            assert partitions_held(db, standby) == [] and sent() == EVENTS_EACH
            assert delivered() == EVENTS_EACH, "the standby published without a partition"
            active.send_signal(signal.SIGKILL)
            active.wait()
            wait_until(lambda: sessions_of(db, active) == 0, 120, "the active session's end")
            standby.points.release(*claimed)  # (that claim was made before the kill)
            standby.points.arm(*claimed)
            move(customer, EVENTS_EACH + 3)
            standby.points.wait_paused(*claimed)
            assert partitions_held(db, standby) == list(range(PARTITIONS))
            standby.points.release(*claimed)
            wait_until(lambda: delivered() == EVENTS_EACH + 3, 120, "the standby to publish")
        finally:
            stop(*(p for p in (active, standby) if p is not None))
    (order,) = stored_orders(customer_id=customer)
    assert order.shipping_address.street == f"{EVENTS_EACH + 3} Standby Row"


def close_and_wait_for_its_end(alias: str, db: psycopg.Connection) -> None:
    """Close this process's session on ``alias``; return once the server has ended it (a
    closed socket ends the backend a moment later, and its locks with it)."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    connections[alias].close()
    gone = "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = %s)"
    wait_until(lambda: db.execute(gone, [pid]).fetchone()[0], 60, f"session {pid} to end")


def test_a_long_running_relay_keeps_its_partitions_between_batches(require_postgres):
    relay = relay_module
    require_postgres("customers")
    store = store_for("customers")
    lock_all = "SELECT count(*) FROM generate_series(0, %s) p WHERE pg_try_advisory_lock(%s, p)"
    args = [PARTITIONS - 1, relay._lock_class(store)]
    with relay._claimed_partitions(store, keep=True, index_order=True) as first:
        assert first == list(range(PARTITIONS))
    with connections["customers"].cursor() as cursor:
        cursor.execute("SHOW enable_bitmapscan")  # pending rows read in index order
        assert cursor.fetchone()[0] == "off"
    with psycopg.connect(_url("customers"), autocommit=True) as other:
        assert other.execute(lock_all, args).fetchone()[0] == 0  # still held after the batch
        close_and_wait_for_its_end("customers", other)  # the relay's locks end with it
        assert other.execute(lock_all, args).fetchone()[0] == PARTITIONS
        with relay._claimed_partitions(store, keep=True) as meanwhile:
            assert meanwhile == []  # a new session: it holds nothing, and cannot take any
        other.execute("SELECT pg_advisory_unlock_all()")
        with relay._claimed_partitions(store, keep=True) as retaken:
            assert retaken == list(range(PARTITIONS))  # it tries again for what it lacks
    connections["customers"].close()


def test_a_relay_whose_session_died_publishes_nothing_until_it_holds_locks_again(
    require_postgres,
):
    from django.db import close_old_connections

    from edn_core.bus.transports import Transport

    relay = relay_module

    class Recording(Transport):
        name = "recording"
        published: list = []

        def publish(self, messages):
            self.published += messages
            return len(messages)

    require_postgres("customers")
    store = store_for("customers")
    seed(count=1)
    lock_all = "SELECT count(*) FROM generate_series(0, %s) p WHERE pg_try_advisory_lock(%s, p)"
    with relay._claimed_partitions(store, keep=True) as held:
        assert held == list(range(PARTITIONS))
    with connections["customers"].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with psycopg.connect(_url("customers"), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])  # the relay's session dies idle
        gone = "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = %s)"
        wait_until(lambda: other.execute(gone, [pid]).fetchone()[0], 60, "the session's end")
        assert other.execute(lock_all, [PARTITIONS - 1, relay._lock_class(store)]).fetchone()[0]
        close_old_connections()  # as the relay's loop does before each round
        transport = Recording()
        assert relay.relay_batch(store, transport, keep_claims=True) == 0
        assert transport.published == []  # the other session holds the partitions now
        other.execute("SELECT pg_advisory_unlock_all()")
        assert relay.relay_batch(store, transport, keep_claims=True) == EVENTS_EACH
    connections["customers"].close()


class Taken:
    """A message taken off the queue as the worker step gets it (settled by the step)."""

    def __init__(self, message) -> None:
        self.message, self.body, self.headers = message, message.body, message.headers

    def ack(self) -> None:
        self.message.ack()

    def requeue(self) -> None:  # the test's delivery never fails: a requeue is a bug
        raise AssertionError(f"a message was requeued: {self.body[:200]}")


def test_a_relay_killed_between_publishing_to_rabbitmq_and_marking_sent(
    require_postgres, rabbitmq, settings, tmp_path
):
    """Proves, on a real RabbitMQ, that a relay killed after the broker confirmed a batch and
    before it marked the rows sent loses nothing: the restarted relay publishes that batch
    again (the queue holds exactly one batch of duplicates) and the consumer applies every
    event once, in order per customer."""
    from kombu import Connection, Queue, binding

    from edn_core.bus.celery_consumer import MessageBatch
    from edn_core.bus.transports.celery import exchange

    require_postgres("customers", "orders")
    last = seed(count=20)
    total, batch = len(last) * EVENTS_EACH, 100
    settings.CELERY_BROKER_URL = rabbitmq
    settings.EDN_BROKER_NAMESPACE = f"edn-relay-kill-{uuid.uuid4().hex[:8]}"
    broker = {
        "EDN_BUS_TRANSPORT": "celery",
        "CELERY_BROKER_URL": rabbitmq,
        "EDN_BROKER_NAMESPACE": settings.EDN_BROKER_NAMESPACE,
        "EDN_BUS_RELAY_BATCH": str(batch),
        "EDN_BUS_MESSAGE_BATCH": "40",
    }
    published = ("relay.published", "customers")
    topic = "v1.CustomerAddressUpdated"
    with Connection(rabbitmq) as connection:
        channel = connection.default_channel
        events = exchange()(channel)
        events.declare()
        queue = Queue(
            f"{settings.EDN_BROKER_NAMESPACE}.orders",
            durable=False,
            bindings=[binding(exchange(), routing_key=topic)],
        )(channel)
        queue.declare()
        # the second batch stops published, not marked sent (armed before the relay starts)
        PausePoints(tmp_path / "killed-points").arm(*published, after=1)
        relay = start_relay(tmp_path, "killed", **broker)
        try:
            assert relay.points.wait_paused(*published) == relay.pid
            relay.send_signal(signal.SIGKILL)
            relay.wait(timeout=30)
            assert sent() == batch  # the first batch only; the second is in the queue, unsent
            relay.points.disarm(*published)
            relay = start_relay(tmp_path, "restarted", **broker)
            wait_until(lambda: sent() == total, 120, "the restarted relay to publish the rest")
        finally:
            stop(relay)
        step, events_taken = MessageBatch(), 0
        while (message := queue.get(no_ack=False)) is not None:
            events_taken += int(message.headers.get("edn-events", 1))
            step.add("orders", Taken(message))
        queue.delete()
        events.delete()
    assert events_taken == total + batch, "the killed relay's batch was not published again"
    assert_all_applied_once_in_order(last)
