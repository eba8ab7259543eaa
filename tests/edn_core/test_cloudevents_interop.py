"""The official CloudEvents SDK (``cloudevents`` 2.2) reads what every transport puts on the
wire: the envelopes the local transport hands over in process, the messages the Celery
transport leaves on real RabbitMQ and Redis queues (read off a queue bound here, in a
namespace of its own), and the request bodies the Dapr transport posts to a sidecar (the
socket-level fake), and the events the Dapr gRPC publisher sends (the fake built from the Dapr
SDK's own service stubs; both fakes are fixtures of tests/edn_core/conftest.py). Each is read
with the SDK's own functions -- its v2 API (``cloudevents.core.bindings.http/rabbitmq``) and
its v1 API (``cloudevents.v1.http``) -- and every required attribute, our extensions, the
content type and the data must come out as the outbox row says.

The SDK has no reader for CloudEvents' batched mode (``application/cloudevents-batch+json``,
which the Celery transport uses for runs of events): a batch is parsed as the JSON array it is
and each element read with the SDK's structured-mode readers.
"""

import base64
import json
import uuid
from datetime import datetime

import pytest
import redis
from cloudevents.core.bindings import http as sdk_http
from cloudevents.core.bindings import rabbitmq as sdk_rabbitmq
from cloudevents.core.formats.json import JSONFormat
from cloudevents.v1 import http as sdk_v1_http
from dateutil.parser import isoparse
from kombu import Connection, Queue

from customers.commands import UpdateCustomer
from customers.models import OutboxMessage
from edn_core import schemas, tracing
from edn_core.bus.relay import relay_batch
from edn_core.bus.stores import store_for
from edn_core.bus.transports import local
from edn_core.bus.transports.celery import CeleryTransport, exchange
from edn_core.bus.transports.dapr import DaprTransport
from edn_core.bus.transports.dapr_grpc import DaprGrpcTransport
from edn_core.cqrs import send
from edn_core.events import IntegrationEvent
from tests.customers.factories import CreateCustomerFactory
from tests.edn_core import dapr_fakes as fakes

pytestmark = pytest.mark.django_db(databases="__all__")
TOPIC = "v1.CustomerAddressUpdated"
STRUCTURED, BATCHED = "application/cloudevents+json", "application/cloudevents-batch+json"
CONTEXT = tracing.MessageContext("corr-interop", "cause-interop", fakes.TRACE)
JSON_FORMAT = JSONFormat()


def moved_customers(count: int) -> list[OutboxMessage]:
    """Move ``count`` new customers in one message context (so every envelope carries a
    correlation id, a causation id and a trace); return the outbox rows, oldest first."""
    customers = [CreateCustomerFactory.create() for _ in range(count)]
    with tracing.using(CONTEXT):
        for n, customer in enumerate(customers):
            address = {**fakes.ADDRESS, "street": f"{n} Interop Way"}
            update = UpdateCustomer(
                customer_id=customer.id, expected_version=None, shipping_address=address
            )
            assert send(update).accepted
    rows = list(OutboxMessage.objects.order_by("id"))
    assert [row.topic for row in rows] == [TOPIC] * count
    return rows


def as_seen(event) -> tuple[dict, object]:
    """The attributes and data of an event read by either SDK API (v1 keeps time a string)."""
    attributes = dict(event.get_attributes())
    if isinstance(attributes.get("time"), str):
        attributes["time"] = isoparse(attributes["time"])
    return attributes, event.get_data()


def read_structured(body: bytes, content_type: str, headers: dict | None = None) -> list:
    """One structured-mode event as each of the SDK's readers returns it."""
    assert content_type.split(";")[0] == STRUCTURED
    http_headers = {"content-type": content_type}
    seen = [
        as_seen(sdk_http.from_http(sdk_http.HTTPMessage(http_headers, body), JSON_FORMAT)),
        as_seen(sdk_v1_http.from_http(http_headers, body)),
        as_seen(sdk_v1_http.from_json(body)),
    ]
    message = sdk_rabbitmq.RabbitMQMessage(headers or {}, content_type, body)
    seen.append(as_seen(sdk_rabbitmq.from_rabbitmq(message, JSON_FORMAT)))
    return seen


def read_batched(body: bytes, content_type: str) -> list[list]:
    """A batched-mode message, event by event: the SDK has no batch reader, so the JSON
    array is split here and each element read with the SDK's structured-mode readers."""
    assert content_type.split(";")[0] == BATCHED
    elements = json.loads(body)
    assert isinstance(elements, list) and elements
    return [read_structured(json.dumps(element).encode(), STRUCTURED) for element in elements]


def assert_is_the_row(seen: tuple[dict, object], row: OutboxMessage, street: str) -> None:
    attributes, data = seen
    assert attributes == {
        "specversion": "1.0",
        "id": str(row.event_id),
        "source": "/customers",
        "type": TOPIC,
        "time": IntegrationEvent.from_json(row.envelope).time,
        "subject": row.aggregate_id,
        "datacontenttype": "application/json",
        "dataschema": schemas.validate_for_publish(TOPIC, data),
        "partitionkey": row.aggregate_id,
        "sequence": str(row.sequence),
        "correlationid": CONTEXT.correlation_id,
        "causationid": CONTEXT.causation_id,
        "traceparent": CONTEXT.traceparent,
    }
    assert isinstance(attributes["time"], datetime) and attributes["time"].tzinfo is not None
    assert attributes["dataschema"].startswith(f"urn:edn:schema:{TOPIC}:")
    address = {**fakes.ADDRESS, "street": street, "postalCode": fakes.ADDRESS["postal_code"]}
    del address["postal_code"]
    assert data == {"customerId": row.aggregate_id, "shippingAddress": address}


def assert_every_reader_sees_the_rows(events_seen: list[list], rows: list) -> None:
    assert len(events_seen) == len(rows)
    for n, (seen_by_readers, row) in enumerate(zip(events_seen, rows, strict=True)):
        for seen in seen_by_readers:
            assert_is_the_row(seen, row, f"{n} Interop Way")


def test_the_sdk_reads_what_the_local_transport_delivers(monkeypatch):
    handed_over = []

    def capture(envelopes, **kwargs):
        handed_over.extend(envelopes)
        return real(envelopes, **kwargs)

    real = local.deliver_batch
    monkeypatch.setattr(local, "deliver_batch", capture)
    rows = moved_customers(3)
    assert relay_batch(store_for("customers"), local.LocalTransport()) == 3
    # In process there is no content type on the wire: each envelope is a structured event.
    seen = [read_structured(envelope.encode(), STRUCTURED) for envelope in handed_over]
    assert_every_reader_sees_the_rows(seen, rows)


@pytest.fixture
def own_queue(broker_url, settings):
    """A queue of this test's own, bound to the topic on the events exchange of a fresh
    namespace: it receives what any subscriber's queue would."""
    settings.CELERY_BROKER_URL = broker_url
    settings.EDN_BROKER_NAMESPACE = f"edn-interop-{uuid.uuid4().hex[:8]}"
    queue = Queue(f"{settings.EDN_BROKER_NAMESPACE}.interop", exchange(), routing_key=TOPIC)
    with Connection(broker_url) as connection:
        bound = queue(connection.default_channel)
        bound.declare()
        try:
            yield bound
        finally:
            bound.delete()
            exchange()(connection.default_channel).delete()


def relayed_over_celery(count: int, message_batch: int, settings) -> list:
    settings.EDN_BUS = {"message_batch": message_batch}
    rows = moved_customers(count)
    transport = CeleryTransport()
    try:
        assert relay_batch(store_for("customers"), transport) == count
    finally:
        transport.close()
    return rows


def raw_redis_messages(broker_url: str, queue_name: str) -> list[dict]:
    """The queue's messages as kombu's Redis transport stores them (oldest first): a JSON
    document whose ``body`` is the message body, base64-encoded."""
    client = redis.Redis.from_url(broker_url)
    try:
        return [json.loads(item) for item in reversed(client.lrange(queue_name, 0, -1))]
    finally:
        client.close()


def taken_off(queue) -> list:
    messages = []
    while (message := queue.get(no_ack=True)) is not None:
        messages.append(message)
    return messages


def body_bytes(message) -> bytes:
    return message.body if isinstance(message.body, bytes) else message.body.encode()


def test_the_sdk_reads_celery_messages_in_structured_mode(own_queue, broker_url, settings):
    rows = relayed_over_celery(3, 1, settings)
    if broker_url.startswith("redis"):
        stored = raw_redis_messages(broker_url, own_queue.name)
        assert [base64.b64decode(m["body"]).decode() for m in stored] == [
            row.envelope for row in rows
        ]
        assert {m["content-type"] for m in stored} == {STRUCTURED}
    messages = taken_off(own_queue)
    assert [m.content_type for m in messages] == [STRUCTURED] * 3
    assert [m.delivery_info["routing_key"] for m in messages] == [TOPIC] * 3
    seen = [read_structured(body_bytes(m), m.content_type, m.headers) for m in messages]
    assert_every_reader_sees_the_rows(seen, rows)


def test_the_sdk_reads_celery_messages_in_batched_mode_event_by_event(
    own_queue, broker_url, settings
):
    rows = relayed_over_celery(5, 3, settings)
    if broker_url.startswith("redis"):
        stored = raw_redis_messages(broker_url, own_queue.name)
        assert [m["content-type"] for m in stored] == [BATCHED, BATCHED]
    messages = taken_off(own_queue)
    assert [(m.content_type, m.headers.get("edn-events")) for m in messages] == [
        (BATCHED, 3),
        (BATCHED, 2),
    ]
    seen = [event for m in messages for event in read_batched(body_bytes(m), m.content_type)]
    assert_every_reader_sees_the_rows(seen, rows)


def test_the_sdk_has_no_batch_reader_of_its_own(own_queue, settings):
    """Why batches are split before the SDK reads them: its readers take one event. When
    this fails, the SDK learned batched mode; read batches with it and update the docs."""
    relayed_over_celery(2, 2, settings)
    (message,) = taken_off(own_queue)
    as_rabbitmq = sdk_rabbitmq.RabbitMQMessage({}, message.content_type, body_bytes(message))
    with pytest.raises(AttributeError):  # it takes the array for an event's attributes
        sdk_rabbitmq.from_rabbitmq(as_rabbitmq, JSON_FORMAT)
    with pytest.raises(Exception, match="specversion"):
        sdk_v1_http.from_http({"content-type": message.content_type}, body_bytes(message))


def test_the_sdk_reads_what_dapr_publishing_posts_one_event_at_a_time(http_sidecar, settings):
    settings.EDN_DAPR_BULK_PUBLISH = False
    rows = moved_customers(3)
    assert relay_batch(store_for("customers"), DaprTransport()) == 3
    assert [r.path for r in http_sidecar.requests] == [f"/v1.0/publish/pubsub/{TOPIC}"] * 3
    seen = [read_structured(r.body, r.headers["content-type"]) for r in http_sidecar.requests]
    assert_every_reader_sees_the_rows(seen, rows)


def test_the_sdk_reads_every_entry_of_a_dapr_bulk_publish(http_sidecar):
    rows = moved_customers(3)  # one topic, one trace: a single bulk request
    assert relay_batch(store_for("customers"), DaprTransport()) == 3
    (request,) = http_sidecar.requests
    assert request.path == f"/v1.0-alpha1/publish/bulk/pubsub/{TOPIC}"
    entries = request.json()
    assert [entry["entryId"] for entry in entries] == [str(row.event_id) for row in rows]
    seen = [
        read_structured(json.dumps(entry["event"]).encode(), entry["contentType"])
        for entry in entries
    ]
    assert_every_reader_sees_the_rows(seen, rows)


@pytest.mark.parametrize("bulk", [False, True], ids=["one-at-a-time", "bulk"])
def test_the_sdk_reads_what_dapr_grpc_publishing_sends(grpc_sidecar, settings, bulk):
    settings.EDN_DAPR_BULK_PUBLISH = bulk
    rows = moved_customers(3)
    transport = DaprGrpcTransport()
    try:
        assert relay_batch(store_for("customers"), transport) == 3
    finally:
        transport.close()
    assert len(grpc_sidecar.calls) == (1 if bulk else 3)
    entries = [entry for call in grpc_sidecar.calls for entry in call.entries]
    seen = [read_structured(entry.body, entry.content_type) for entry in entries]
    assert_every_reader_sees_the_rows(seen, rows)
