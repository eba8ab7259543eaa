"""Relays as real OS processes on PostgreSQL: crash recovery and per-aggregate order.

5,000 ``v1.CustomerAddressUpdated`` events over 200 customers, each customer with one open
order. Every applied event moves that order's version by one, so a duplicate effect would
show as a version above 1 + 25; the orders inbox records the order in which events were
applied, per customer.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connections, transaction

from customers.domain import Address as CustomerAddress
from customers.domain import CustomerAddressUpdated
from customers.models import OutboxMessage
from edn_core.bus.outbox import write_outbox
from edn_core.cqrs import send
from orders.commands import PlaceOrder
from orders.models import InboxEntry, OrderRecord

ROOT = Path(__file__).resolve().parents[2]
CUSTOMERS, EVENTS_EACH = 200, 25
CONSUMER = "orders.update_shipping_address_of_open_orders"
pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def _url(alias: str) -> str:
    s = connections[alias].settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_relay(tmp_path: Path, name: str, sweep: float = 0.5) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "EDN_BUS_SWEEP_SECONDS": str(sweep),
        # the address flow only: with sagas hosted, the seeded orders would be rejected
        "EDN_SERVICES": "customers,orders",
        **{f"{alias.upper()}_DATABASE_URL": _url(alias) for alias in connections},
    }
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115  closed with the process
    return subprocess.Popen(
        [sys.executable, "manage.py", "edn_relay"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


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
    for order in OrderRecord.objects.all():
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


def test_two_relays_on_one_alias_keep_per_aggregate_order(require_postgres, tmp_path):
    require_postgres("customers", "orders")
    last = seed()
    relays = [start_relay(tmp_path, "a"), start_relay(tmp_path, "b")]
    try:
        wait_until(
            lambda: sent() == CUSTOMERS * EVENTS_EACH and delivered() == CUSTOMERS * EVENTS_EACH,
            240,
            "both relays to finish",
        )
        assert all(r.poll() is None for r in relays), "a relay died"
    finally:
        stop(*relays)
    assert_all_applied_once_in_order(last)


def test_relay_wakes_on_commit_not_on_its_sweep(require_postgres, tmp_path):
    """With a 60 s sweep, only LISTEN/NOTIFY can deliver within seconds."""
    require_postgres("customers", "orders")
    last = seed(count=1)
    relay = start_relay(tmp_path, "listener", sweep=60)
    try:
        wait_until(lambda: delivered() == EVENTS_EACH, 30, "the first drain at start")
        (customer,) = last
        moved = CustomerAddress("99 Late St", "C", "S", "X", "99")
        time.sleep(1)  # the relay is idle, waiting
        started = time.monotonic()
        with transaction.atomic(using="customers"):
            write_outbox(
                "customers",
                [
                    (
                        EVENTS_EACH + 1,
                        CustomerAddressUpdated(aggregate_id=customer, shipping_address=moved),
                    )
                ],
            )
        wait_until(lambda: delivered() == EVENTS_EACH + 1, 10, "the woken relay")
        assert time.monotonic() - started < 5
    finally:
        stop(relay)
    order = OrderRecord.objects.get(customer_id=customer)
    assert order.shipping_address.street == "99 Late St"


def test_a_standby_relay_takes_over_when_the_active_one_dies(require_postgres, tmp_path):
    """A long-running relay keeps its partition locks; a second one stands by and takes them
    over as soon as the first one's database session ends."""
    require_postgres("customers", "orders")
    last = seed(count=1)
    (customer,) = last
    active = start_relay(tmp_path, "active", sweep=60)
    standby = None
    try:
        wait_until(lambda: delivered() == EVENTS_EACH, 30, "the active relay's first drain")
        standby = start_relay(tmp_path, "standby", sweep=60)
        time.sleep(2)  # the standby is up, woken by nothing yet, holding no partition
        active.send_signal(signal.SIGKILL)
        active.wait(timeout=10)
        moved = CustomerAddress("7 Standby Row", "C", "S", "X", "7")
        with transaction.atomic(using="customers"):
            event = CustomerAddressUpdated(aggregate_id=customer, shipping_address=moved)
            write_outbox("customers", [(EVENTS_EACH + 1, event)])
        wait_until(lambda: delivered() == EVENTS_EACH + 1, 15, "the standby to publish")
    finally:
        stop(*(p for p in (active, standby) if p is not None))
    assert OrderRecord.objects.get(customer_id=customer).shipping_address.street == "7 Standby Row"


def test_a_long_running_relay_keeps_its_partitions_between_batches(require_postgres):
    import psycopg

    from edn_core.bus import relay
    from edn_core.bus.outbox import PARTITIONS
    from edn_core.bus.stores import store_for

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
        connections["customers"].close()  # the relay's session ends, and its locks with it
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
    import psycopg
    from django.db import close_old_connections

    from edn_core.bus import relay
    from edn_core.bus.outbox import PARTITIONS
    from edn_core.bus.stores import store_for
    from edn_core.bus.transports import Transport

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
        time.sleep(0.2)
        assert other.execute(lock_all, [PARTITIONS - 1, relay._lock_class(store)]).fetchone()[0]
        close_old_connections()  # as the relay's loop does before each round
        transport = Recording()
        assert relay.relay_batch(store, transport, keep_claims=True) == 0
        assert transport.published == []  # the other session holds the partitions now
        other.execute("SELECT pg_advisory_unlock_all()")
        assert relay.relay_batch(store, transport, keep_claims=True) == EVENTS_EACH
    connections["customers"].close()
