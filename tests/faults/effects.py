"""Exactly-once, in-order effects of ``v1.CustomerAddressUpdated``, read from the databases.

The customers outbox is the truth of what happened: every row there is one address change.
The orders side must show each of them exactly once in its inbox (handled, or stale when a
newer change of the same customer was applied in the same batch), the applied ones in
sequence order, the newest applied last; every applied change moved the customer's open order
once (its version counts them) and the order ends at the customer's last address.
"""

from collections import defaultdict

import psycopg

from tests.support.deployment import wait_for

TOPIC = "v1.CustomerAddressUpdated"
CONSUMER = "orders.update_shipping_address_of_open_orders"
PENDING = "SELECT count(*) FROM customers_outboxmessage WHERE sent_at IS NULL"
EVENTS = f"SELECT count(*) FROM customers_outboxmessage WHERE topic = '{TOPIC}'"
HANDLED = f"SELECT count(*) FROM orders_inboxentry WHERE consumer = '{CONSUMER}'"


def count(db: psycopg.Connection, sql: str) -> int:
    return db.execute(sql).fetchone()[0]


LIST_CAUGHT_UP = (
    "SELECT coalesce((SELECT position FROM orders_projectionstate"
    " WHERE name = 'order_list' AND live), 0)"
    " >= coalesce((SELECT max(id) FROM orders_orderevent), 0)"
)
ORDER_ROWS = (
    "SELECT customer_id::text, version, shipping_address->>'street' FROM orders_order_view"
    " WHERE generation = (SELECT generation FROM orders_projectionstate"
    " WHERE name = 'order_list' AND live)"
)


def order_rows(orders: psycopg.Connection) -> list[tuple[str, int, str]]:
    """``(customer id, version, street)`` of every order, from the orders list once its
    projection has applied every event of the store (the workers run it)."""
    wait_for(lambda: orders.execute(LIST_CAUGHT_UP).fetchone()[0], 300, "the orders list")
    return orders.execute(ORDER_ROWS).fetchall()


def wait_until_delivered(
    customers: psycopg.Connection, orders: psycopg.Connection, logs, alive=()
) -> int:
    """Wait until the outbox is empty and the inbox has as many entries as there are events;
    return that number. The deadline only fails a run that is stuck; a process of ``alive``
    (relay, worker) that exited fails it at once, naming it (its log is in ``logs``)."""

    def done() -> bool:
        gone = [process for process in alive if process.poll() is not None]
        if gone:
            names = ", ".join(f"{getattr(p, 'name', p)} (exit {p.poll()})" for p in gone)
            raise AssertionError(f"{names} exited before every event was delivered; logs in {logs}")
        events = count(customers, EVENTS)
        return count(customers, PENDING) == 0 and count(orders, HANDLED) >= events

    try:
        wait_for(done, 600, f"every event delivered; logs in {logs}")
    except TimeoutError as stuck:
        raise TimeoutError(f"{stuck}\n{stuck_state(customers, orders)}") from None
    return count(customers, EVENTS)


def stuck_state(customers: psycopg.Connection, orders: psycopg.Connection) -> str:
    """What a stuck run looks like: the counts, and every session of the orders database
    (a delivery waiting on a lock, or a killed worker's transaction still open)."""
    sessions = orders.execute(
        "SELECT pid, state, wait_event_type, wait_event, xact_start, left(query, 120)"
        " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    ).fetchall()
    lines = [
        f"events {count(customers, EVENTS)}, unsent {count(customers, PENDING)},"
        f" handled {count(orders, HANDLED)}",
        *(f"  orders session {row}" for row in sessions),
    ]
    return "\n".join(lines)


def assert_each_event_applied_once_in_order(
    customers: psycopg.Connection, orders: psycopg.Connection
) -> dict[str, int]:
    """Fail unless every address change had exactly one effect, in order; return figures."""
    published = customers.execute(
        "SELECT event_id::text, aggregate_id, sequence,"
        " envelope::jsonb -> 'data' -> 'shippingAddress' ->> 'street'"
        " FROM customers_outboxmessage WHERE topic = %s",
        [TOPIC],
    ).fetchall()
    assert count(customers, PENDING) == 0, "rows left unsent in the outbox"
    inbox = orders.execute(
        "SELECT event_id, aggregate_id, sequence, outcome FROM orders_inboxentry"
        " WHERE consumer = %s ORDER BY id",
        [CONSUMER],
    ).fetchall()
    lost = {e for e, *_ in published} - {e for e, *_ in inbox}
    assert not lost, f"{len(lost)} events never reached orders"
    assert len(inbox) == len(published), "inbox entries for events never published"
    assert {o for *_, o in inbox} <= {"handled", "stale"}, "an outcome other than handled/stale"

    last_street, newest = {}, defaultdict(int)
    for _, customer, sequence, street in published:
        if sequence > newest[customer]:
            newest[customer], last_street[customer] = sequence, street
    applied = defaultdict(list)
    for _, customer, sequence, outcome in inbox:
        if outcome == "handled":
            applied[customer].append(sequence)
    for customer, sequences in applied.items():
        assert sequences == sorted(set(sequences)), f"{customer}: applied out of order"
        assert sequences[-1] == newest[customer], f"{customer}: its newest change not applied"

    rows = order_rows(orders)
    assert {c for c, *_ in rows} >= set(newest), "a customer without its open order"
    for customer, version, street in rows:
        if customer in newest:
            assert version == 1 + len(applied[customer]), f"{customer}: an effect twice, or none"
            assert street == last_street[customer], f"{customer}: order not at the last address"
    failed = dict(
        orders.execute("SELECT status, count(*) FROM orders_faileddelivery GROUP BY status")
    )
    assert not failed.get("dead"), "dead letters"
    return {
        "events": len(published),
        "applied": sum(map(len, applied.values())),
        "stale": sum(o == "stale" for *_, o in inbox),
        "failed deliveries": failed,
    }
