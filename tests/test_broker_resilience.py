"""Crash and outage behaviour of the celery transport with real processes and RabbitMQ."""

import signal
import time

import httpx
import pytest

from tests.conftest import BROKERS, broker_or_skip
from tests.support.deployment import (
    RELAY,
    Deployment,
    postgres_or_skip,
    wait_for,
    worker_command,
)
from tests.support.tcp_proxy import TcpProxy

MONOLITH = {"app": ["customers", "orders", "schema_registry"]}
CUSTOMERS, EACH = 200, 25


@pytest.fixture
def rabbitmq():
    postgres_or_skip()
    broker_or_skip(BROKERS["rabbitmq"])
    return BROKERS["rabbitmq"]


def count(db, sql: str) -> int:
    return db.execute(sql).fetchone()[0]


def prepare(deployment: Deployment) -> None:
    deployment.manage("app", "migrate_all")
    deployment.manage("app", "edn_schemas", "register")
    deployment.manage("app", "edn_broker")


def test_sigkill_of_the_worker_mid_run_loses_nothing_and_applies_nothing_twice(rabbitmq, tmp_path):
    with Deployment(MONOLITH, rabbitmq, tmp_path) as deployment:
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
        worker = deployment.start("app", "worker-1", *worker_command("worker-1"))
        wait_for(lambda: count(orders, handled) >= 1000, 120, "1,000 events handled")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        assert count(orders, handled) < CUSTOMERS * EACH, "killed too late to prove anything"
        deployment.start("app", "worker-2", *worker_command("worker-2"))
        wait_for(
            lambda: count(orders, handled) == CUSTOMERS * EACH,
            240,
            f"every event after the restart; logs in {tmp_path}",
        )
        versions = orders.execute(
            "SELECT o.version, o.ship_street, (SELECT count(*) FROM orders_inboxentry i"
            " WHERE i.aggregate_id = o.customer_id::text AND i.outcome = 'handled')"
            " FROM orders_order o"
        ).fetchall()
        assert len(versions) == CUSTOMERS
        # latest wins: events superseded within a batch are recorded stale, not applied
        assert all(v == 1 + applied for v, _, applied in versions), "no effect, or two"
        assert {street for _, street, _ in versions} == {f"{EACH} Road"}


def test_broker_unreachable_for_20s_under_load_then_everything_is_delivered(rabbitmq, tmp_path):
    proxy = TcpProxy(5672)
    through_proxy = rabbitmq.replace("127.0.0.1:5672", f"127.0.0.1:{proxy.port}")
    try:
        with Deployment(MONOLITH, through_proxy, tmp_path) as deployment:
            prepare(deployment)
            deployment.serve("app")
            deployment.start("app", "relay", *RELAY)
            deployment.start("app", "worker", *worker_command("worker"))
            token = deployment.manage("app", "edn_token", "load").strip().splitlines()[-1]
            api = httpx.Client(
                base_url=deployment.url("app"),
                timeout=10,
                headers={"Authorization": f"Bearer {token}"},
            )
            customers = [_customer_with_order(api, n) for n in range(20)]

            proxy.cut()
            accepted, moves = 0, 0
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                for customer in customers:
                    moves += 1
                    response = api.patch(
                        customer["url"],
                        headers={"If-Match": customer["etag"]},
                        json={"shippingAddress": {"street": f"{moves} Lane"}},
                    )
                    accepted += response.status_code == 200
                    customer.update(etag=response.headers.get("ETag"), street=f"{moves} Lane")
                time.sleep(0.5)
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


def _customer_with_order(api: httpx.Client, n: int) -> dict:
    address = {"street": "0 Lane", "city": "C", "state": "S", "country": "X", "postalCode": "1"}
    created = api.post(
        "/api/customers",
        json={
            "firstName": f"C{n}",
            "lastName": "Load",
            "creditLimit": "10.00",
            "shippingAddress": address,
        },
    )
    assert created.status_code == 201, created.text
    order = api.post(
        "/api/orders",
        json={
            "customerId": created.json()["id"],
            "shippingAddress": address,
            "items": [
                {
                    "productId": "8a0e3b9c-6c5e-4b7a-9f55-2f0f7c1d1a01",
                    "productName": "W",
                    "productPrice": "1.00",
                    "quantity": 1,
                }
            ],
        },
    )
    assert order.status_code == 202, order.text
    return {
        "url": created.headers["Location"],
        "etag": created.headers["ETag"],
        "order": order.headers["Location"],
        "street": "0 Lane",
    }
