"""Crash and outage behaviour of the celery transport with real processes and RabbitMQ.

The worker is killed at a pause point (:mod:`edn_core.testing_hooks`), not after a race with
its speed; the outage is a fixed amount of work done while the broker is cut off."""

import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from edn_core.testing_hooks import PausePoints
from tests.faults.effects import order_rows
from tests.support.deployment import (
    RELAY,
    Deployment,
    free_port,
    wait_for,
    worker_command,
)
from tests.support.monolith import MONOLITH, customer_with_order, prepare, token
from tests.support.processes import Service
from tests.support.tcp_proxy import TcpProxy

CUSTOMERS, EACH = 200, 25
ADDRESS_CONSUMER = "orders.update_shipping_address_of_open_orders"
# The broker stays away for both, whichever is longer (tests/faults/test_broker_outage.py cuts
# it three times under a paced load; this one holds a single longer backlog).
OUTAGE_SECONDS, OUTAGE_ROUNDS = 10, 20


def count(db, sql: str) -> int:
    return db.execute(sql).fetchone()[0]


def start_worker_with_metrics(deployment: Deployment, name: str) -> tuple[Service, int]:
    """Start a worker that serves its own metrics (the deployment's other processes do not)."""
    port = free_port()
    env = {**deployment.env("app"), "EDN_METRICS_PORT": str(port)}
    env["EDN_METRICS_ADDRESS"] = "127.0.0.1"
    worker = Service(name, worker_command(name), env, deployment.logs / f"app-{name}.log")
    deployment.processes.append(worker)
    return worker.start(), port


def duplicates_dropped(port: int, consumer: str) -> float:
    """What the worker on ``port`` counted in ``edn_inbox_duplicates`` for ``consumer``."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "edn_inbox_duplicates"
        for sample in family.samples
        if sample.name.endswith("_total")
        and sample.labels.get("messaging_consumer_group_name") == consumer
    )


def test_sigkill_of_the_worker_mid_run_loses_nothing_and_applies_nothing_twice(rabbitmq, tmp_path):
    """The worker dies with its third delivery batch committed and not acked (at most ~3,300
    of the 5,000 events handled): the broker redelivers that batch, and the inbox drops it.
    Proves the redelivery happened (the second worker counts the duplicates it dropped, no
    more than the first had committed) and that no order took any event's change twice."""
    points = PausePoints(tmp_path / "points")
    committed = ("consumer.before_ack", "orders")
    with Deployment(MONOLITH, rabbitmq, tmp_path, **points.env()) as deployment:
        prepare(deployment)
        deployment.manage(
            "app",
            "shell",
            "-c",
            f"from tests.support.seed_events import seed; seed({CUSTOMERS}, {EACH})",
        )
        orders = deployment.database("app", "orders")
        handled = "SELECT count(*) FROM orders_inboxentry"
        deployment.start("app", "relay", *RELAY)
        points.arm(*committed, after=2)
        worker = deployment.start("app", "worker-1", *worker_command("worker-1"))
        assert points.wait_paused(*committed) == worker.pid
        committed_at_kill = count(orders, handled)
        assert 0 < committed_at_kill < CUSTOMERS * EACH
        worker.kill()
        points.disarm(*committed)
        _, metrics_port = start_worker_with_metrics(deployment, "worker-2")
        wait_for(
            lambda: count(orders, handled) == CUSTOMERS * EACH,
            240,
            f"every event after the restart; logs in {tmp_path}",
        )
        handled_of = dict(
            orders.execute(
                "SELECT aggregate_id, count(*) FROM orders_inboxentry"
                " WHERE outcome = 'handled' GROUP BY aggregate_id"
            ).fetchall()
        )
        versions = [(v, street, handled_of.get(c, 0)) for c, v, street in order_rows(orders)]
        assert len(versions) == CUSTOMERS
        # latest wins: events superseded within a batch are recorded stale, not applied
        assert all(v == 1 + applied for v, _, applied in versions), "no effect, or two"
        assert {street for _, street, _ in versions} == {f"{EACH} Road"}
        # the committed, unacked batch came again, and the inbox dropped it
        dropped = duplicates_dropped(metrics_port, ADDRESS_CONSUMER)
        assert 0 < dropped <= committed_at_kill, f"duplicates dropped: {dropped}"


def test_broker_unreachable_under_load_then_everything_is_delivered(rabbitmq, tmp_path):
    """While the broker is cut off (at least 10 s, and 20 rounds of 20 address changes),
    every command is accepted and its event waits in the outbox; all arrive once it is back."""
    proxy = TcpProxy(5672)
    through_proxy = rabbitmq.replace("127.0.0.1:5672", f"127.0.0.1:{proxy.port}")
    try:
        with Deployment(MONOLITH, through_proxy, tmp_path) as deployment:
            prepare(deployment)
            deployment.serve("app")
            deployment.start("app", "relay", *RELAY)
            deployment.start("app", "worker", *worker_command("worker"))
            api = httpx.Client(
                base_url=deployment.url("app"),
                timeout=10,
                headers={"Authorization": f"Bearer {token(deployment, 'load')}"},
            )
            customers = [customer_with_order(api, n) for n in range(20)]

            proxy.cut()
            accepted, moves = 0, 0
            back_at = time.monotonic() + OUTAGE_SECONDS
            for _ in range(OUTAGE_ROUNDS):
                for customer in customers:
                    moves += 1
                    response = api.patch(
                        customer["url"],
                        headers={"If-Match": customer["etag"]},
                        json={"shippingAddress": {"street": f"{moves} Lane"}},
                    )
                    accepted += response.status_code == 200
                    customer.update(etag=response.headers.get("ETag"), street=f"{moves} Lane")
            time.sleep(max(0.0, back_at - time.monotonic()))  # an outage of at least OUTAGE_SECONDS
            assert accepted == moves, "commands must be accepted while the broker is away"
            outbox = deployment.database("app", "customers")
            pending = count(
                outbox, "SELECT count(*) FROM customers_outboxmessage WHERE sent_at IS NULL"
            )
            assert pending >= moves * 0.9, "the outbox holds what could not be published"
            proxy.restore()

            def delivered():
                return all(
                    api.get(c["order"]).json()["shippingAddress"]["street"] == c["street"]
                    for c in customers
                )

            wait_for(delivered, 120, f"delivery after the broker returned; logs in {tmp_path}")
            assert (
                count(outbox, "SELECT count(*) FROM customers_outboxmessage WHERE sent_at IS NULL")
                == 0
            )
    finally:
        proxy.close()
