"""The create-order saga across separate OS processes: each service its own gunicorn, relay and
Celery worker with its own PostgreSQL databases, over RabbitMQ. Proves, every hop between
processes: the success path (the saga's Executed is waited for, not read when the order is);
a credit refusal compensated; SIGKILL of the orchestrator (the sagas worker and relay) with
sagas in flight, after which a restarted one finishes every saga; and a step timeout fired by
the restarted orchestrator's sweeper in its own process.

The kill lands at a point the test controls, not after a race with the clock: the sagas
worker stops at the pause point ``consumer.before_ack.sagas`` (a delivery batch committed,
its messages not acked) on its first or second batch after the 30 orders are placed. A saga
needs at least three batches of the orchestrator to end, so at the kill none of the 30 has
ended and at least one has started. The timeout is not raced either: one saga left waiting by
the kill gets a past deadline while no orchestrator runs, and the restarted relay (whose bus
worker sweeps every second) runs alone until that saga has moved; then the worker starts."""

import signal
from decimal import Decimal

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
PRICE = Decimal("7.50")
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

        # a failure path over the broker: 11 x 7.50 = 82.50 > 77.50 credit left
        poor = place(11)
        wait_for(lambda: state_of(poor) == "Rejected", 240, f"order Rejected; logs in {tmp_path}")
        wait_for(lambda: sagas_db.execute(finished).fetchone()[0] == 2, 120, "the saga's end")
        (refused,) = sagas.get("/api/sagas", params={"key": poor}).json()["results"]
        assert refused["state"] == "Compensated"
        assert refused["reason"].startswith("ReserveCustomerCredit: "), refused["reason"]
        assert [s["action"]["state"] for s in refused["steps"]][1:] == [
            "Failed", "NotStarted", "NotStarted"
        ]  # fmt: skip
        credit = customers.get(f"/api/customers/{customer['id']}").json()["creditAvailable"]
        stock = inventory.get(f"/api/inventory/{product['id']}").json()["amountAvailable"]
        assert (credit, stock) == ("77.50", 6)  # nothing held for it

        # many sagas in flight, then the orchestrator dies without a chance to clean up: the
        # worker stops after committing its first or second batch of the new work (if the
        # last saga's last batch has not passed the point yet, it is the one let through)
        points.arm(*committed, after=1)
        pending = [place(1) for _ in range(30)]
        worker = orchestrator[1]
        assert points.wait_paused(*committed) == worker.pid
        assert sagas_db.execute(finished).fetchone()[0] == 2, "none of the 30 has ended"
        assert sagas_db.execute(count).fetchone()[0] > 2, "and at least one has started"
        for process in orchestrator:
            process.send_signal(signal.SIGKILL)
            process.wait()
        points.disarm(*committed)

        # a saga the kill left waiting is overdue; the restarted relay's sweeper, alone, fails
        # its step (another process than the one that set the deadline) and compensates
        waiting = "SELECT key FROM sagas_saga WHERE state = 'Executing' ORDER BY created_at"
        (late,) = sagas_db.execute(waiting).fetchone()
        overdue = "UPDATE sagas_saga SET deadline = now() - interval '1 second' WHERE key = %s"
        sagas_db.execute(overdue, [late])
        deployment.start("sagas", "relay-2", *RELAY)
        state = "SELECT state FROM sagas_saga WHERE key = %s"
        wait_for(
            lambda: sagas_db.execute(state, [late]).fetchone()[0] != "Executing",
            120,
            f"the restarted sweeper to expire the overdue step; logs in {tmp_path}",
        )
        deployment.start("sagas", "worker-2", *worker_command("sagas"))
        wait_for(
            lambda: all(state_of(o) != "Pending" for o in pending),
            300,
            f"every order out of Pending after the restart; logs in {tmp_path}",
        )
        wait_for(lambda: sagas_db.execute(finished).fetchone()[0] == 32, 180, "every saga ended")
        (timed_out,) = sagas.get("/api/sagas", params={"key": late}).json()["results"]
        assert timed_out["state"] == "Compensated", timed_out
        assert "no reply within 3600 s" in timed_out["reason"]
        assert "TimedOut" in [s["action"]["state"] for s in timed_out["steps"]]
        assert state_of(late) == "Rejected"
        states = [state_of(o) for o in pending]
        created = states.count("Created")
        # stock 6 left; the timed-out order may have held a unit while another was refused
        assert created in (5, 6) and states.count("Rejected") == 30 - created, states
        stock = inventory.get(f"/api/inventory/{product['id']}").json()["amountAvailable"]
        credit = customers.get(f"/api/customers/{customer['id']}").json()["creditAvailable"]
        assert (stock, credit) == (6 - created, f"{Decimal('77.50') - created * PRICE:.2f}")
