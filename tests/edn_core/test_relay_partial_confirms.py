"""Partial publisher confirms on a real RabbitMQ, with batched messages (several outbox rows in
one broker message): the relay marks sent exactly the rows of the messages the broker acked
before its first nack, and publishes the rest again later.

The broker's nacks are real: the only queue bound to the topic takes two messages
(``x-max-length: 2``, ``x-overflow: reject-publish``) and refuses every later one. The
transport contract (tests/edn_core/transport_contract.py) covers one row per message.
"""

import uuid

import pytest
from kombu import Connection, Queue

from edn_core.bus.relay import PublishFailed, relay_batch
from edn_core.bus.stores import store_for
from edn_core.bus.transports.celery import CeleryTransport, exchange
from orders.models import OutboxMessage

pytestmark = pytest.mark.django_db(databases="__all__")
TOPIC = "v1.TestPinged"


def outbox_rows(count: int) -> list[int]:
    return [
        OutboxMessage.objects.create(
            event_id=uuid.uuid4(),
            topic=TOPIC,
            aggregate_id="agg",
            sequence=n,
            partition=0,
            envelope=f'{{"n": {n}}}',
        ).pk
        for n in range(1, count + 1)
    ]


def sent_flags(ids: list[int]) -> list[bool]:
    sent = dict(OutboxMessage.objects.filter(pk__in=ids).values_list("pk", "sent_at"))
    return [sent[pk] is not None for pk in ids]


def test_a_nack_part_way_through_batched_messages_confirms_the_acked_messages_rows(
    rabbitmq, settings
):
    """Proves that with messages of 3 rows, 2 acked and 2 nacked by RabbitMQ, exactly the 6 rows
    of the acked messages are marked sent, the 7th records the failure, and the next relay
    round (once the queue has room) publishes the other 4."""
    settings.CELERY_BROKER_URL = rabbitmq
    settings.EDN_BROKER_NAMESPACE = f"edn-partial-{uuid.uuid4().hex[:8]}"
    settings.EDN_BUS = {**settings.EDN_BUS, "message_batch": 3}
    ids = outbox_rows(10)  # as messages of 3, 3, 3 and 1 rows
    arguments = {"x-max-length": 2, "x-overflow": "reject-publish"}
    transport = CeleryTransport()
    with Connection(rabbitmq) as connection:
        channel = connection.default_channel
        events = exchange()(channel)
        events.declare()
        full = Queue(
            f"{settings.EDN_BROKER_NAMESPACE}.full",
            exchange(),
            routing_key=TOPIC,
            durable=False,
            queue_arguments=arguments,
        )(channel)
        full.declare()
        try:
            with pytest.raises(PublishFailed, match="not confirmed"):
                relay_batch(store_for("orders"), transport)
            assert sent_flags(ids) == [True] * 6 + [False] * 4
            seventh = OutboxMessage.objects.get(pk=ids[6])
            assert seventh.attempts == 1 and "not confirmed" in seventh.last_error
            bodies = [full.get(no_ack=True).body for _ in range(2)]
            assert [b.count('"n"') for b in bodies] == [3, 3]  # the two acked messages
            assert relay_batch(store_for("orders"), transport) == 4  # the queue has room again
            assert sent_flags(ids) == [True] * 10
        finally:
            transport.close()
            full.delete()
            events.delete()
