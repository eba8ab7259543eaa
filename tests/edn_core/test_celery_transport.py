"""The celery transport against real brokers: RabbitMQ (publisher confirms) and Redis."""

import json
import uuid

import pytest
from kombu import Connection, Producer

from customers.models import OutboxMessage
from edn_core.bus import celery_consumer
from edn_core.bus.relay import relay_batch
from edn_core.bus.stores import store_for
from edn_core.bus.transports.celery import (
    CeleryTransport,
    app_queues,
    declare_topology,
    exchange,
)
from orders.models import InboxEntry
from tests.customers.factories import AddressFactory, CreateCustomerFactory

# transaction=True: the consumer step closes stale connections between messages, as a worker
# does, which an enclosing test transaction would not survive.
pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


@pytest.fixture
def broker(broker_url, settings):
    settings.CELERY_BROKER_URL = broker_url
    settings.EDN_BROKER_NAMESPACE = f"edn-test-{uuid.uuid4().hex[:8]}"
    with Connection(broker_url) as connection:
        declare_topology(connection)
        yield connection
        for queue in app_queues().values():
            queue(connection.default_channel).delete()


def moved_customers(count: int) -> None:
    from customers.commands import UpdateCustomer
    from edn_core.cqrs import send

    for _ in range(count):
        customer = CreateCustomerFactory.create()
        assert send(
            UpdateCustomer(
                customer_id=customer.id, expected_version=None, shipping_address=AddressFactory()
            )
        ).accepted


def drain(connection, queue, limit=100):
    bound = queue(connection.default_channel)
    messages = []
    for _ in range(limit):
        message = bound.get(no_ack=False)
        if message is None:
            break
        messages.append(message)
    return messages


def moved_together(count: int) -> list:
    """Create ``count`` customers, then move them all: the outbox ends with ``count``
    consecutive rows of v1.CustomerAddressUpdated."""
    from customers.commands import UpdateCustomer
    from edn_core.cqrs import send

    customers = [CreateCustomerFactory.create() for _ in range(count)]
    for customer in customers:
        update = UpdateCustomer(
            customer_id=customer.id, expected_version=None, shipping_address=AddressFactory()
        )
        assert send(update).accepted
    return customers


def body_text(message) -> str:
    return message.body.decode() if isinstance(message.body, bytes) else message.body


def test_relay_publishes_envelopes_in_order_and_marks_them_sent(broker, settings):
    settings.EDN_BUS = {"message_batch": 1}  # one message per event
    moved_customers(5)
    transport = CeleryTransport()
    try:
        assert relay_batch(store_for("customers"), transport) == 5
    finally:
        transport.close()
    rows = list(OutboxMessage.objects.order_by("id"))
    assert all(row.sent_at for row in rows)
    messages = drain(broker, app_queues()["orders"])
    assert [m.body.decode() if isinstance(m.body, bytes) else m.body for m in messages] == [
        row.envelope for row in rows
    ]
    assert messages[0].content_type == "application/cloudevents+json"
    assert messages[0].delivery_info["routing_key"] == "v1.CustomerAddressUpdated"


def test_consumer_step_delivers_then_acks(broker):
    moved_customers(3)
    transport = CeleryTransport()
    relay_batch(store_for("customers"), transport)
    transport.close()
    handler = celery_consumer.EventConsumerStep._handler("orders")
    for message in drain(broker, app_queues()["orders"]):
        handler(message)
        assert message.acknowledged
    assert InboxEntry.objects.count() == 3
    assert drain(broker, app_queues()["orders"]) == []


def test_a_failed_delivery_is_requeued_for_the_broker_to_redeliver(broker, monkeypatch):
    moved_customers(1)
    transport = CeleryTransport()
    relay_batch(store_for("customers"), transport)
    transport.close()

    def database_down(*args, **kwargs):
        raise ConnectionError("database unavailable")

    monkeypatch.setattr("edn_core.bus.batch.deliver_batch", database_down)
    handler = celery_consumer.EventConsumerStep._handler("orders")
    (message,) = drain(broker, app_queues()["orders"])
    handler(message)
    assert message.acknowledged  # settled: requeued, not acked
    monkeypatch.undo()
    (again,) = drain(broker, app_queues()["orders"])
    celery_consumer.EventConsumerStep._handler("orders")(again)
    assert InboxEntry.objects.count() == 1


def test_unreachable_broker_confirms_nothing(settings):
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"
    moved_customers(1)
    from edn_core.bus.relay import PublishFailed

    with pytest.raises(PublishFailed):
        relay_batch(store_for("customers"), CeleryTransport())
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 1


def test_consecutive_events_of_a_topic_share_one_batched_message(broker, settings):
    settings.EDN_BUS = {"message_batch": 4}
    moved_together(6)
    transport = CeleryTransport()
    try:
        assert relay_batch(store_for("customers"), transport) == OutboxMessage.objects.count()
    finally:
        transport.close()
    updates = list(OutboxMessage.objects.filter(topic="v1.CustomerAddressUpdated").order_by("id"))
    messages = drain(broker, app_queues()["orders"])
    assert [m.headers["edn-events"] for m in messages] == [4, 2]
    assert {m.content_type for m in messages} == {"application/cloudevents-batch+json"}
    assert [json.loads(body_text(m)) for m in messages] == [
        [json.loads(row.envelope) for row in updates[:4]],
        [json.loads(row.envelope) for row in updates[4:]],
    ]
    handler = celery_consumer.EventConsumerStep._handler("orders")
    for message in messages:
        handler(message)
        assert message.acknowledged
    assert InboxEntry.objects.count() == 6
    assert drain(broker, app_queues()["orders"]) == []


def test_an_invalid_event_in_a_batch_is_dead_lettered_and_the_rest_delivered(broker):
    from edn_core.bus.stores import store_for as store

    moved_together(3)
    updates = list(OutboxMessage.objects.filter(topic="v1.CustomerAddressUpdated").order_by("id"))
    events = [json.loads(row.envelope) for row in updates]
    del events[1]["time"]
    with Connection(broker.as_uri(include_password=True)) as connection:
        Producer(connection.default_channel, exchange=exchange()).publish(
            json.dumps(events),
            routing_key="v1.CustomerAddressUpdated",
            content_type="application/cloudevents-batch+json",
            headers={"edn-events": 3},
            serializer=None,
        )
    (message,) = drain(broker, app_queues()["orders"])
    celery_consumer.EventConsumerStep._handler("orders")(message)
    assert message.acknowledged
    assert InboxEntry.objects.count() == 2
    (dead,) = store("orders").rows(store("orders").failures).all()
    assert dead.status == "dead" and json.loads(dead.envelope) == events[1]
