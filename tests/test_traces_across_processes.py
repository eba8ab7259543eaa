"""One trace across separate service processes over RabbitMQ, exported over OTLP to a
receiver the test runs: a PUT on customers reaches the orders worker in the trace the
customers web process started (through its relay), and a create-order saga's messages
between four services all stay in the trace of the order's POST. The JSON log lines of a
request carry its trace id."""

import json

import httpx

from tests.support.deployment import (
    RELAY,
    SAGA_SERVICES,
    Deployment,
    wait_for,
    worker_command,
)
from tests.support.otlp import OtlpReceiver

SERVICES = SAGA_SERVICES
WORKING = ("customers", "inventory", "orders", "sagas")
ADDRESS = {"street": "1 Road", "city": "Leeds", "state": "WY", "country": "UK", "postalCode": "L1"}
MOVED = {**ADDRESS, "street": "2 New Road"}


def _trace_id(response: httpx.Response) -> str:
    return response.headers["traceparent"].split("-")[1]


def _has(spans, service: str, name: str, kind: str) -> bool:
    return any((s.service, s.name, s.kind) == (service, name, kind) for s in spans)


def test_one_trace_from_a_request_through_relay_and_worker_processes(rabbitmq, tmp_path):
    receiver = OtlpReceiver()
    env = {
        "GUNICORN_WORKERS": "1",
        "EDN_SAGA_STEP_TIMEOUT_SECONDS": "3600",
        "EDN_LOG_FORMAT": "json",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_TRACES_SAMPLER": "parentbased_always_on",
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # export within a moment, not every 5 s
    }
    with receiver, Deployment(SERVICES, rabbitmq, tmp_path, **env) as deployment:
        deployment.manage_each({service: [["migrate_all"]] for service in SERVICES})
        deployment.serve("registry")
        setup = {service: [["edn_schemas", "register"], ["edn_broker"]] for service in WORKING}
        setup["customers"].append(["edn_token", "e2e"])
        token = deployment.manage_each(setup)["customers"].strip().splitlines()[-1]
        deployment.serve_all(*WORKING)
        for service in WORKING:
            deployment.start(service, "relay", *RELAY)
            deployment.start(service, "worker", *worker_command(service))

        def client(service: str) -> httpx.Client:
            headers = {"Authorization": f"Bearer {token}"}
            return httpx.Client(base_url=deployment.url(service), headers=headers, timeout=10)

        customers, inventory, orders = client("customers"), client("inventory"), client("orders")
        created = customers.post(
            "/api/customers",
            json={"firstName": "Ada", "lastName": "L", "creditLimit": "100.00",
                  "shippingAddress": ADDRESS},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        location = f"/api/customers/{created.json()['id']}"
        etag = customers.get(location).headers["ETag"]
        body = {**created.json(), "shippingAddress": MOVED}
        body = {k: body[k] for k in ("firstName", "lastName", "creditLimit", "shippingAddress")}

        # 1. the address change: customers web -> its relay -> the orders worker
        update = customers.put(location, json=body, headers={"If-Match": etag})
        assert update.status_code == 200, update.text
        address_trace = _trace_id(update)
        topic = "v1.CustomerAddressUpdated"
        wait_for(
            lambda: (
                _has(receiver.in_trace(address_trace), "orders", f"process {topic}", "CONSUMER")
                and _has(receiver.in_trace(address_trace), "orders", "settle orders", "CLIENT")
            ),
            240,
            f"the orders worker's spans in trace {address_trace}; logs in {tmp_path}",
        )
        spans = receiver.in_trace(address_trace)
        (server,) = [s for s in spans if s.kind == "SERVER"]
        assert server.service == "customers" and server.name.startswith("PUT")
        (create,) = [s for s in spans if s.name == f"create {topic}"]
        (send,) = [s for s in spans if s.name == f"send {topic}"]
        process = [s for s in spans if s.name == f"process {topic}"]
        assert (create.service, create.kind, create.parent_span_id) == (
            "customers",
            "PRODUCER",
            _descendant_of(spans, server, create),
        )
        assert (send.service, send.kind, send.parent_span_id) == (
            "customers",
            "PRODUCER",
            create.span_id,
        )
        assert (address_trace, create.span_id) in send.links
        for span in process:
            assert span.parent_span_id == create.span_id  # from the context written
            assert span.attributes["messaging.system"] == "rabbitmq"
            assert span.attributes["messaging.destination.name"] == topic
            assert (
                span.attributes["messaging.message.id"] == create.attributes["messaging.message.id"]
            )
            assert span.attributes["messaging.consumer.group.name"].startswith("orders.")

        # 2. the create-order saga: every hop between four services in the order's trace
        product = inventory.post(
            "/api/inventory", json={"description": "Widget", "amountAvailable": 9}
        ).json()
        line = {"productId": product["id"], "productName": "Widget", "productPrice": "7.50",
                "quantity": 3}  # fmt: skip
        placed = orders.post(
            "/api/orders",
            json={"customerId": created.json()["id"], "shippingAddress": MOVED, "items": [line]},
        )
        assert placed.status_code == 202, placed.text
        order_trace = _trace_id(placed)
        state = lambda: orders.get(f"/api/orders/{placed.json()['id']}").json()["state"]  # noqa: E731
        wait_for(lambda: state() == "Created", 240, f"order Created; logs in {tmp_path}")
        expected = {
            ("sagas", "process v1.OrderPlaced"),
            ("customers", "process v1.CustomerCreditReserveRequested"),
            ("sagas", "process v1.CustomerCreditReserved"),
            ("inventory", "process v1.InventoryReserveRequested"),
            ("sagas", "process v1.InventoryReserved"),
        }
        wait_for(
            lambda: expected <= {(s.service, s.name) for s in receiver.in_trace(order_trace)},
            240,
            f"the saga's spans in trace {order_trace}; logs in {tmp_path}",
        )
        for name in ("v1.CustomerCreditReserveRequested", "v1.InventoryReserveRequested"):
            commands = [s for s in receiver.spans if s.name == f"create {name}"]
            assert {s.trace_id for s in commands} == {order_trace}

        # 3. a request's JSON log lines carry its trace id
        stale = customers.put(location, json=body, headers={"If-Match": etag})
        assert stale.status_code == 412
        log = (tmp_path / "customers-web.log").read_text()
        lines = [json.loads(x) for x in log.splitlines() if x.startswith("{")]
        warned = [x for x in lines if x["logger"] == "django.request" and x["level"] == "WARNING"]
        assert _trace_id(stale) in {x["trace_id"] for x in warned}, warned[-3:]


def _descendant_of(spans, ancestor, span) -> str:
    """``span``'s parent id, once it is checked that ``ancestor`` is among its ancestors."""
    by_id = {s.span_id: s for s in spans}
    parent = by_id.get(span.parent_span_id)
    while parent is not None and parent is not ancestor:
        parent = by_id.get(parent.parent_span_id)
    assert parent is ancestor, f"{span.name} does not descend from {ancestor.name}"
    return span.parent_span_id
