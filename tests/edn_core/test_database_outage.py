"""PostgreSQL cut away (through a :class:`TcpProxy` the test controls) while the API serves:
every endpoint answers 503 problem+json with Retry-After, never a 500 and never the
database's address; a command cut in the middle of its transaction leaves nothing behind;
/readyz goes unready and comes back; once the proxy is restored everything answers again.

The server is the test's live server (real HTTP, real PostgreSQL); the test itself reads the
databases over its own connections, which bypass the proxy. The cut happens when the test
says so (between requests, or from inside the command at the outbox write), never on a timer.
"""

import uuid

import httpx
import pytest
from django.db import connections

from customers.models import CustomerRecord
from customers.models import OutboxMessage as CustomerOutbox
from edn_core.bus import outbox
from tests.conftest import bearer_token
from tests.customers.factories import customer_payload
from tests.support.tcp_proxy import TcpProxy
from tests.test_flows import order_payload

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)
TOPIC = "v1.CustomerAddressUpdated"


@pytest.fixture
def proxy(require_postgres):
    """Every alias of the live server reaches PostgreSQL through the proxy (the test's own
    connections, opened before, keep going straight to it)."""
    aliases = list(connections.settings)
    require_postgres(*aliases)
    original = {alias: connections.settings[alias] for alias in aliases}
    targets = {(s["HOST"] or "127.0.0.1", int(s["PORT"] or 5432)) for s in original.values()}
    assert len(targets) == 1, f"the aliases are on several servers: {targets}"
    host, port = targets.pop()
    proxy = TcpProxy(port, host)
    for alias in aliases:
        connections[alias].ensure_connection()  # the test's own, direct
        connections.settings[alias] = {
            **original[alias],
            "HOST": "127.0.0.1",
            "PORT": str(proxy.port),
            "CONN_MAX_AGE": 0,
        }
    try:
        yield proxy
    finally:
        connections.settings.update(original)
        proxy.close()


@pytest.fixture
def client(live_server):
    headers = {"Authorization": f"Bearer {bearer_token()}"}
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=30) as client:
        yield client


def secrets() -> set[str]:
    """What a client must never read: the database servers' names, hosts and ports."""
    found = set()
    for settings in connections.settings.values():
        found |= {str(settings.get(key) or "") for key in ("NAME", "HOST", "PORT")}
    return {value for value in found if len(value) > 3}


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.request.url, response.text)
    assert response.headers["Content-Type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    assert not any(secret in response.text for secret in secrets()), response.text


def moved(city: str) -> dict:
    return customer_payload(shippingAddress={**customer_payload()["shippingAddress"], "city": city})


def test_a_database_outage_is_503_everywhere_then_everything_answers_again(
    proxy, client, live_server, monkeypatch
):
    created = client.post("/api/customers", json=customer_payload())
    assert created.status_code == 201, created.text
    customer_id, etag = created.json()["id"], created.headers["ETag"]
    url = f"/api/customers/{customer_id}"
    assert proxy.forwarded > 0  # the server does go through the proxy

    # Cut from inside the command: the customer row is updated, the outbox row not yet.
    insert_rows = outbox.insert_rows

    def cut_then_insert(*args, **kwargs):
        proxy.cut()
        return insert_rows(*args, **kwargs)

    monkeypatch.setattr(outbox, "insert_rows", cut_then_insert)
    assert_unavailable(client.put(url, json=moved("Paris"), headers={"If-Match": etag}))
    monkeypatch.undo()
    row = CustomerRecord.objects.get(pk=customer_id)
    assert row.city == "London" and f'"{row.version}"' == etag  # rolled back with the outbox
    assert not CustomerOutbox.objects.filter(topic=TOPIC).exists()

    # While the database is away: every endpoint, DRF or not, answers 503.
    attempts = [
        client.get("/api/customers"),
        client.get(url),
        client.post("/api/customers", json=customer_payload()),
        client.put(url, json=moved("Rome"), headers={"If-Match": etag}),
        client.delete(url, headers={"If-Match": etag}),
        client.get("/api/orders", params={"customerId": customer_id}),
        client.post("/api/orders", json=order_payload(customer_id, moved("x")["shippingAddress"])),
        client.get("/api/inventory"),
        client.get("/api/sagas"),
        client.get("/api/schemas/subjects"),
        # outside DRF: the session middleware's query fails, Django's handler500 answers
        client.get("/admin/", headers={"Cookie": f"sessionid={uuid.uuid4().hex}"}),
    ]
    for response in attempts:
        assert_unavailable(response)
    ready = httpx.get(f"{live_server.url}/readyz", timeout=30)
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks == dict.fromkeys(
        (f"database:{alias}" for alias in connections.settings), "failing"
    )
    assert "errors" not in ready.json()  # error classes only for a caller with a token
    token = {"Authorization": f"Bearer {bearer_token()}"}
    errors = httpx.get(f"{live_server.url}/readyz", headers=token, timeout=30).json()["errors"]
    assert set(errors) == set(checks)
    assert set(errors.values()) <= {"OperationalError", "InterfaceError"}, errors
    assert CustomerRecord.objects.count() == 1  # nothing was written meanwhile

    proxy.restore()
    assert httpx.get(f"{live_server.url}/readyz", timeout=30).status_code == 200
    updated = client.put(url, json=moved("Paris"), headers={"If-Match": etag})
    assert updated.status_code == 200, updated.text
    assert client.get(url).json()["shippingAddress"]["city"] == "Paris"
    assert CustomerOutbox.objects.filter(topic=TOPIC).count() == 1
