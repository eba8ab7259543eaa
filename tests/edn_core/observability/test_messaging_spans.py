"""Messaging spans in one process (tracing on, spans in memory): the semantic-convention
names, kinds and attributes, and one trace from a request to the handlers it caused -- the
context always the one captured when the event was written."""

import pytest
from opentelemetry.trace import SpanKind

from edn_core.testing import EventBus
from tests.customers.factories import customer_payload
from tests.test_flows import NEW_ADDRESS, order_payload

pytestmark = pytest.mark.django_db(databases="__all__")


def _server_span(spans, method: str):
    """The server span of the one request of ``method`` (the platform's middleware's)."""
    (span,) = [s for s in spans.all() if s.kind == SpanKind.SERVER and s.name.startswith(method)]
    return span


def test_an_address_change_is_one_trace_from_the_request_to_the_orders_handler(api, spans):
    created = api.post("/api/customers", customer_payload(), format="json")
    EventBus().run_until_quiet()
    spans.clear()
    etag = api.get(created["Location"])["ETag"]
    update = api.put(
        created["Location"],
        customer_payload(shippingAddress=NEW_ADDRESS),
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert update.status_code == 200
    EventBus().run_until_quiet()

    server = _server_span(spans, "PUT")
    assert server.name == "PUT api/customers/<uuid:pk>"
    assert server.attributes["http.route"] == "api/customers/<uuid:pk>"
    assert server.attributes["http.response.status_code"] == 200
    assert server.attributes["http.request.method"] == "PUT"
    assert update["traceparent"].split("-")[1] == f"{server.context.trace_id:032x}"
    trace_id = server.context.trace_id
    create = spans.named("create v1.CustomerAddressUpdated")
    send = spans.named("send v1.CustomerAddressUpdated")
    process = [
        s
        for s in spans.named("process v1.CustomerAddressUpdated")
        if s.attributes["messaging.consumer.group.name"].startswith("orders")
    ]
    assert (len(create), len(send), len(process)) == (1, 1, 1)
    (create,), (send,), (process,) = create, send, process
    assert {s.context.trace_id for s in (create, send, process)} == {trace_id}
    assert create.parent.span_id == server.context.span_id
    assert send.parent.span_id == create.context.span_id  # the relay: from the creation
    assert [link.context.span_id for link in send.links] == [create.context.span_id]
    assert process.parent.span_id == create.context.span_id  # the handler: from the creation
    assert (create.kind, send.kind, process.kind) == (
        SpanKind.PRODUCER,
        SpanKind.PRODUCER,
        SpanKind.CONSUMER,
    )
    event_id = create.attributes["messaging.message.id"]
    assert process.attributes["messaging.message.id"] == event_id
    assert create.attributes["messaging.destination.name"] == "v1.CustomerAddressUpdated"
    assert create.attributes["messaging.operation.type"] == "create"
    assert send.attributes["messaging.operation.type"] == "send"
    assert process.attributes["messaging.operation.type"] == "process"
    assert process.attributes["messaging.system"] == "in_process"


def test_a_create_order_saga_stays_in_the_orders_trace(api, spans):
    customer = api.post("/api/customers", customer_payload(), format="json").json()
    product = api.post(
        "/api/inventory", {"description": "Widget", "amountAvailable": 9}, format="json"
    )
    EventBus().run_until_quiet()
    spans.clear()
    payload = order_payload(customer["id"], customer["shippingAddress"], product.json()["id"])
    assert api.post("/api/orders", payload, format="json").status_code == 202
    EventBus().run_until_quiet()

    trace_id = _server_span(spans, "POST").context.trace_id
    messaging = [s for s in spans.all() if "messaging.operation.type" in s.attributes]
    topics = {s.attributes.get("messaging.destination.name") for s in messaging}
    # the saga's commands to customers and inventory and their replies all took part
    assert {
        "v1.CustomerCreditReserveRequested",
        "v1.CustomerCreditReserved",
        "v1.InventoryReserveRequested",
    } <= topics, topics
    assert {s.context.trace_id for s in messaging} == {trace_id}


def test_sagas_started_in_one_delivery_batch_each_keep_their_orders_trace(api, spans):
    customer = api.post("/api/customers", customer_payload(), format="json").json()
    product = api.post(
        "/api/inventory", {"description": "Widget", "amountAvailable": 9}, format="json"
    )
    EventBus().run_until_quiet()
    payload = order_payload(customer["id"], customer["shippingAddress"], product.json()["id"])
    traces = []
    for _ in range(2):  # both placed before the bus runs: one batch
        placed = api.post("/api/orders", payload, format="json")
        traces.append(int(placed["traceparent"].split("-")[1], 16))
    spans.clear()
    EventBus().run_until_quiet()

    commands = spans.named("create v1.CustomerCreditReserveRequested")
    assert len(commands) == 2
    assert {s.context.trace_id for s in commands} == set(traces)


def _last_envelope() -> str:
    from orders.models import OutboxMessage

    return OutboxMessage.objects.using("orders").latest("id").envelope.replace(" ", "")


def _place_order(api, **headers):
    customer = api.post("/api/customers", customer_payload(), format="json").json()
    payload = order_payload(customer["id"], customer["shippingAddress"])
    assert api.post("/api/orders", payload, format="json", **headers).status_code == 202


def test_unsampled_work_records_no_span_and_keeps_the_trace_unsampled(api, unsampled_spans):
    _place_order(api)
    EventBus().run_until_quiet()
    assert unsampled_spans.all() == []
    traceparent = _last_envelope().split('"traceparent":"')[1][:55]
    assert traceparent.startswith("00-") and not int(traceparent[-2:], 16) & 1  # not sampled


def test_without_tracing_the_envelope_still_carries_the_requests_trace(api):
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    _place_order(api, HTTP_TRACEPARENT=traceparent)
    assert '"traceparent":"00-0af7651916cd43dd8448eb211c80319c-' in _last_envelope()
