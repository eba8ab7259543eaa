"""The quick start as a new user runs it: set up, serve, and use the API with a token.

Runs the same management commands as ``scripts/run`` (without reinstalling dependencies) in
a fresh data folder, serves on a free port, and talks HTTP to it.
"""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support.processes import free_port, wait_for

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def served(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_DATABASE_URL") and not k.startswith(("DJANGO_", "EDN_"))
    }
    env.update(
        DJANGO_DEBUG="1",
        EDN_DATA_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="config.settings",
        EDN_SAGA_STEP_TIMEOUT_SECONDS="3600",  # a slow machine must not turn Created to Rejected
    )

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout

    manage("migrate_all")
    manage("edn_schemas", "register")
    assert "3 demo record(s) created" in manage("edn_demo")
    token = manage("edn_token", "newcomer").strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        except httpx.TransportError:
            assert server.poll() is None, "runserver exited"
            return False

    try:
        wait_for(answers, 120, "runserver to answer")
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()


def test_new_user_can_run_and_use_the_customers_api(served):
    base, token = served
    with httpx.Client(base_url=base, timeout=10) as anonymous:
        assert anonymous.get("/api/customers").status_code == 401
        assert anonymous.get("/readyz").status_code == 200
        assert anonymous.get("/api/docs/").status_code == 200
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=auth, timeout=10) as api:
        assert api.get("/api/customers").json()["count"] == 3
        body = {
            "firstName": "Ada",
            "lastName": "Byron",
            "creditLimit": "100.00",
            "shippingAddress": {
                "street": "1 A St",
                "city": "London",
                "state": "LDN",
                "country": "UK",
                "postalCode": "N1",
            },
        }
        created = api.post("/api/customers", json=body)
        assert created.status_code == 201
        url, tag = created.headers["Location"], created.headers["ETag"]
        assert api.get(url).json()["lastName"] == "Byron"
        body["lastName"] = "King"
        assert api.put(url, json=body).status_code == 428
        updated = api.put(url, json=body, headers={"If-Match": tag})
        assert updated.status_code == 200 and updated.headers["ETag"] != tag
        assert api.put(url, json=body, headers={"If-Match": tag}).status_code == 412
        assert api.delete(url, headers={"If-Match": updated.headers["ETag"]}).status_code == 204
        assert api.get(url).status_code == 404


def test_events_flow_inside_the_one_process_server(served):
    """The in-process relay runs the create-order saga and delivers the address change
    without any other process."""
    base, token = served
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=auth, timeout=10) as api:
        customer = api.get("/api/customers", params={"name": "Lovelace"}).json()["results"][0]
        order = api.post(
            "/api/orders",
            json={
                "customerId": customer["id"],
                "shippingAddress": customer["shippingAddress"],
                "items": [
                    {
                        "productId": "8a0e3b9c-6c5e-4b7a-9f55-2f0f7c1d1a01",
                        "productName": "Widget",
                        "productPrice": "7.50",
                        "quantity": 3,
                    }
                ],
            },
        )
        assert order.status_code == 202 and order.json()["state"] == "Pending"
        # the create-order saga runs in the same process: credit 100 -> 77.50, stock 9 -> 6
        location = order.headers["Location"]
        wait_for(lambda: api.get(location).json()["state"] != "Pending", 120, "the saga")
        assert api.get(location).json()["state"] == "Created"

        def saga_state() -> str:
            (saga,) = api.get("/api/sagas", params={"key": order.json()["id"]}).json()["results"]
            return saga["state"] in ("Executed", "Compensated", "NeedsAttention") and saga["state"]

        # the saga records the order's reply a moment after the order changed
        assert wait_for(saga_state, 120, "the saga's end") == "Executed"
        url = f"/api/customers/{customer['id']}"
        assert api.get(url).json()["creditAvailable"] == "77.50"
        widget = "/api/inventory/8a0e3b9c-6c5e-4b7a-9f55-2f0f7c1d1a01"
        assert api.get(widget).json()["amountAvailable"] == 6
        current = api.get(url)
        moved = {**customer["shippingAddress"], "street": "1 Moved Street"}
        body = {k: customer[k] for k in ("firstName", "lastName", "creditLimit")}
        response = api.put(
            url,
            json={**body, "shippingAddress": moved},
            headers={"If-Match": current.headers["ETag"]},
        )
        assert response.status_code == 200

        def street() -> str:
            return api.get(location).json()["shippingAddress"]["street"]

        wait_for(lambda: street() == "1 Moved Street", 120, "the order to follow the customer")

        # the order reached the analytics service's statistics (stream, processor) in-process
        now = datetime.now(UTC)
        hour = {
            "window": "PT1H",
            "from": (now - timedelta(hours=2)).isoformat(),
            "to": (now + timedelta(hours=2)).isoformat(),
        }

        def counted() -> list:
            found = api.get("/api/stats/orders", params=hour).json()["results"]
            return [(w["orders"], w["units"], w["revenue"]) for w in found if w["orders"]]

        assert wait_for(counted, 120, "the order in the statistics") == [(1, 3, "22.50")]
