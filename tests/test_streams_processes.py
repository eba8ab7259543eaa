"""The order statistics across service processes, the streams on Redis Streams, then on NATS
JetStream; each service its own PostgreSQL databases, integration events over RabbitMQ:

registry:  gunicorn hosting schema_registry
orders:    gunicorn + edn_relay (publishes the order events over RabbitMQ)
analytics: gunicorn + Celery worker (the stream feed: each order event appended to the
           ``orders`` stream on Redis or NATS) + ``edn_streams run --all`` (the processors)

Orders placed over HTTP on the orders service show up in ``/api/stats/orders`` and
``/api/stats/products/{id}`` of the analytics service: orders, units and revenue exact.
"""

import sys
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
import redis

from edn_core.streams.nats import NatsLog
from tests.conftest import BROKERS, broker_or_skip
from tests.edn_core.streams import adapter_nats, adapter_redis
from tests.support.deployment import Deployment, postgres_or_skip, wait_for, worker_command

SERVICES = {"registry": ["schema_registry"], "orders": ["orders"], "analytics": ["analytics"]}
TEA, CAKE = uuid.uuid4(), uuid.uuid4()
ADDRESS = {"street": "1 Main", "city": "Bath", "state": "SOM", "country": "UK", "postalCode": "B1"}
ORDERS = [((TEA, 2, "3.50"), (CAKE, 1, "4.25")), ((TEA, 1, "3.50"),), ((CAKE, 3, "4.25"),)]


def servers(log: str) -> dict[str, str]:
    if log == "redis":
        broker_or_skip(adapter_redis.URL)
        return {"EDN_STREAMS_REDIS_URL": adapter_redis.URL}
    return {"EDN_STREAMS_NATS_URL": adapter_nats.server_or_skip()}


def clean(log: str, namespace: str) -> None:
    """Delete the deployment's streams (namespaced by its broker namespace)."""
    if log == "redis":
        client = redis.Redis.from_url(adapter_redis.URL)
        for key in client.scan_iter(f"{namespace}:streams:*"):
            client.delete(key)
        client.close()
    else:
        adapter_nats.drop(NatsLog(adapter_nats.URL, prefix=namespace))


@pytest.mark.parametrize("log", ["redis", "nats"])
def test_order_statistics_across_processes(log, tmp_path):
    postgres_or_skip()
    broker = broker_or_skip(BROKERS["rabbitmq"])
    deployment = Deployment(SERVICES, broker, tmp_path, EDN_STREAMS_LOG=log, **servers(log))
    try:
        with deployment:
            run_and_check(deployment)
    finally:
        clean(log, deployment.namespace)


def run_and_check(deployment: Deployment) -> None:
    deployment.manage_each({service: [("migrate_all",)] for service in SERVICES})
    deployment.serve("registry")
    deployment.manage_each(
        {
            "orders": [("edn_schemas", "register")],
            "analytics": [("edn_schemas", "register"), ("edn_broker",)],
        }
    )
    deployment.serve_all("orders", "analytics")
    deployment.start("orders", "relay", sys.executable, "manage.py", "edn_relay")
    deployment.start("analytics", "worker", *worker_command("analytics-worker"))
    streams = [sys.executable, "manage.py", "edn_streams", "run", "--all"]
    deployment.start("analytics", "streams", *streams)
    token = deployment.manage("orders", "edn_token", "e2e").strip().splitlines()[-1]
    auth = {"Authorization": f"Bearer {token}"}
    orders = httpx.Client(base_url=deployment.url("orders"), headers=auth, timeout=10)
    stats = httpx.Client(base_url=deployment.url("analytics"), headers=auth, timeout=10)
    for items in ORDERS:
        lines = [
            {"productId": str(p), "productName": "Tea", "productPrice": price, "quantity": q}
            for p, q, price in items
        ]
        body = {"customerId": str(uuid.uuid4()), "shippingAddress": ADDRESS, "items": lines}
        placed = orders.post("/api/orders", json=body)
        assert placed.status_code == 202, placed.text

    now = datetime.now(UTC)
    hours = {
        "window": "PT1H",
        "from": (now - timedelta(hours=2)).isoformat(),
        "to": (now + timedelta(hours=2)).isoformat(),
    }

    def totals(path: str):
        answer = stats.get(path, params=hours)
        assert answer.status_code == 200, answer.text
        found = [w for w in answer.json()["results"] if w["orders"]]
        return sum(w["orders"] for w in found), sum(w["units"] for w in found), found

    # the timeouts only end a run that is stuck
    def counted():
        done = totals("/api/stats/orders")
        return done[:2] == (3, 7) and done

    _, _, windows = wait_for(counted, 180, "the three orders in the statistics")
    assert sum(Decimal(w["revenue"]) for w in windows) == Decimal("27.50")
    tea = wait_for(lambda: totals(f"/api/stats/products/{TEA}")[:2] == (2, 3), 60, "tea")
    assert tea
