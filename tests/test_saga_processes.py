"""The create-order saga across separate OS processes: each service its own gunicorn, relay and
Celery worker with its own PostgreSQL databases, over RabbitMQ. Then SIGKILL of the
orchestrator (the sagas worker and relay) mid-run: after a restart every saga finishes.

The kill lands at a point the test controls, not after a race with the clock: the sagas
worker stops at the pause point ``consumer.before_ack.sagas`` (a delivery batch committed,
its messages not acked) on its first or second batch after the 30 orders are placed. A saga
needs at least three batches of the orchestrator to end, so at the kill none of the 30 has
ended and at least one has started."""

import signal

import httpx

from edn_core.testing_hooks import PausePoints
from tests.support.deployment import (
    RELAY,
    SAGA_SERVICES,
    Deployment,
    wait_for,
    worker_command,
)

SERVICES = SAGA_SERVICES
PARTICIPANTS = ("customers", "inventory", "orders")
SAGA = (*PARTICIPANTS, "sagas")
ADDRESS = {"street": "1 Road", "city": "Leeds", "state": "WY", "country": "UK", "postalCode": "L1"}


def start_orchestrator(deployment: Deployment, generation: int):
    relay = deployment.start("sagas", f"relay-{generation}", *RELAY)
    worker = deployment.start("sagas", f"worker-{generation}", *worker_command("sagas"))
    return relay, worker


def test_create_order_saga_across_processes_survives_a_killed_orchestrator(rabbitmq, tmp_path):
    points = PausePoints(tmp_path / "points")
    committed = ("consumer.before_ack", "sagas")
    # the test is about a crash, not timeouts: no step may expire while a loaded machine is slow
    env = {"GUNICORN_WORKERS": "1", "EDN_SAGA_STEP_TIMEOUT_SECONDS": "3600", **points.env()}
    with Deployment(SERVICES, rabbitmq, tmp_path, **env) as deployment:
        # each service's set-up in one process of its own, the services side by side
        deployment.manage_each({service: [["migrate_all"]] for service in SERVICES})
        deployment.serve("registry")  # the others register their schemas with it
        setup = {service: [["edn_schemas", "register"], ["edn_broker"]] for service in SAGA}
        setup["customers"].append(["edn_token", "e2e"])
        token = deployment.manage_each(setup)["customers"].strip().splitlines()[-1]
        deployment.serve_all(*SAGA)
        for service in PARTICIPANTS:
            deployment.start(service, "relay", *RELAY)
            deployment.start(service, "worker", *worker_command(service))
        orchestrator = start_orchestrator(deployment, 1)

        def client(service: str) -> httpx.Client:
            headers = {"Authorization": f"Bearer {token}"}
            return httpx.Client(base_url=deployment.url(service), headers=headers, timeout=10)

        customers, inventory, orders, sagas = map(client, SAGA)
        customer = customers.post(
            "/api/customers",
            json={"firstName": "Ada", "lastName": "L", "creditLimit": "100.00",
                  "shippingAddress": ADDRESS},
        ).json()  # fmt: skip
        product = inventory.post(
            "/api/inventory", json={"description": "Widget", "amountAvailable": 9}
        ).json()

        def place(quantity: int) -> str:
            line = {"productId": product["id"], "productName": "Widget",
                    "productPrice": "7.50", "quantity": quantity}  # fmt: skip
            body = {"customerId": customer["id"], "shippingAddress": ADDRESS, "items": [line]}
            response = orders.post("/api/orders", json=body)
            assert response.status_code == 202, response.text
            return response.json()["id"]

        def state_of(order_id: str) -> str:
            return orders.get(f"/api/orders/{order_id}").json()["state"]

        # the seed's success scenario, every hop over the broker between processes
        first = place(3)
        wait_for(lambda: state_of(first) == "Created", 240, f"order Created; logs in {tmp_path}")
        credit = customers.get(f"/api/customers/{customer['id']}").json()["creditAvailable"]
        stock = inventory.get(f"/api/inventory/{product['id']}").json()["amountAvailable"]
        assert (credit, stock) == ("77.50", 6)
        sagas_db = deployment.database("sagas", "sagas")
        count = "SELECT count(*) FROM sagas_saga"
        finished = f"{count} WHERE state IN ('Executed', 'Compensated')"
        # the saga records the order's last reply a moment after the order changed
        wait_for(lambda: sagas_db.execute(finished).fetchone()[0] == 1, 120, "the saga's end")
        (saga,) = sagas.get("/api/sagas", params={"key": first}).json()["results"]
        assert saga["state"] == "Executed"

        # many sagas in flight, then the orchestrator dies without a chance to clean up: the
        # worker stops after committing its first or second batch of the new work (if the
        # first saga's last batch has not passed the point yet, it is the one let through)
        points.arm(*committed, after=1)
        pending = [place(1) for _ in range(30)]
        worker = orchestrator[1]
        assert points.wait_paused(*committed) == worker.pid
        assert sagas_db.execute(finished).fetchone()[0] == 1, "none of the 30 has ended"
        assert sagas_db.execute(count).fetchone()[0] > 1, "and at least one has started"
        for process in orchestrator:
            process.send_signal(signal.SIGKILL)
            process.wait()
        points.disarm(*committed)

        start_orchestrator(deployment, 2)
        wait_for(
            lambda: all(state_of(o) != "Pending" for o in pending),
            300,
            f"every order out of Pending after the restart; logs in {tmp_path}",
        )
        states = [state_of(o) for o in pending]
        assert states.count("Created") == 6 and states.count("Rejected") == 24  # stock 6 left
        wait_for(lambda: sagas_db.execute(finished).fetchone()[0] == 31, 180, "every saga ended")
        stock = inventory.get(f"/api/inventory/{product['id']}").json()["amountAvailable"]
        credit = customers.get(f"/api/customers/{customer['id']}").json()["creditAvailable"]
        assert (stock, credit) == (0, "32.50")  # 9 units sold at 7.50 of 100.00
