"""Transport over the Celery broker (RabbitMQ or Redis, chosen by ``CELERY_BROKER_URL``).

Topology: one durable topic exchange ``edn.events``; one durable queue per app that
subscribes, ``edn.<app>``, bound to the topics it handles. Messages are the CloudEvents
envelopes as published, persistent. On RabbitMQ the relay publishes a batch in confirm mode and
waits for the broker's acks (pipelined, not one round trip per message); only the acked prefix
counts as confirmed. Consumers (a Celery worker step, see ``edn_core.bus.celery_consumer``)
ack a message only after its handlers' transactions committed.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from kombu import Connection, Exchange, Producer, Queue, binding

from edn_core.bus.subscriptions import subscriptions
from edn_core.bus.transports import Transport

__all__ = ["CeleryTransport", "app_queues", "declare_topology", "exchange"]

CONTENT_TYPE = "application/cloudevents+json"


def exchange() -> Exchange:
    """The topic exchange, named ``<EDN_BROKER_NAMESPACE>.events``."""
    return Exchange(f"{settings.EDN_BROKER_NAMESPACE}.events", type="topic", durable=True)


def app_queues() -> dict[str, Queue]:
    """The durable queue of each app of this process that subscribes to something."""
    topics: dict[str, set[str]] = {}
    for sub in subscriptions():
        topics.setdefault(sub.app_label, set()).add(sub.topic)
    events = exchange()
    return {
        app: Queue(
            f"{settings.EDN_BROKER_NAMESPACE}.{app}",
            durable=True,
            bindings=[binding(events, routing_key=topic) for topic in sorted(names)],
        )
        for app, names in sorted(topics.items())
    }


def declare_topology(connection: Connection) -> list[str]:
    """Declare the exchange and this process's queues with their bindings; return queue names."""
    channel = connection.default_channel
    exchange()(channel).declare()
    queues = list(app_queues().values())
    for queue in queues:
        queue(channel).declare()
    return [queue.name for queue in queues]


def broker_connection() -> Connection:
    return Connection(
        settings.CELERY_BROKER_URL, connect_timeout=5, transport_options={"socket_timeout": 10}
    )


class CeleryTransport(Transport):
    name = "celery"

    def __init__(self) -> None:
        self._connection: Connection | None = None
        self._confirming = False
        self._next_tag = 1

    def publish(self, messages: Sequence) -> int:
        try:
            connection = self._connect()
            if connection.transport.driver_type == "amqp":
                return self._publish_confirmed(connection, messages)
            producer = Producer(connection.default_channel, exchange=exchange())
            for message in messages:
                self._send(producer, message)
            return len(messages)  # Redis: LPUSH returned, the message is in the queue
        except Exception:
            self.close()  # reconnect on the next batch
            raise

    def close(self) -> None:
        if self._connection is not None:
            self._connection.release()
        self._connection, self._confirming, self._next_tag = None, False, 1

    def _connect(self) -> Connection:
        if self._connection is None:
            self._connection = broker_connection()
            self._connection.ensure_connection(max_retries=1)
            exchange()(self._connection.default_channel).declare()
        return self._connection

    @staticmethod
    def _send(producer: Producer, message) -> None:
        producer.publish(
            message.envelope,
            routing_key=message.topic,
            content_type=CONTENT_TYPE,
            content_encoding="utf-8",
            delivery_mode=2,
            retry=False,
            message_id=str(message.event_id),
            serializer=None,
        )

    def _publish_confirmed(self, connection: Connection, messages: Sequence) -> int:
        channel = connection.default_channel
        if not self._confirming:
            channel.confirm_select()
            self._confirming, self._next_tag = True, 1
        first = self._next_tag
        acked: set[int] = set()
        nacked: list[int] = []

        def on_ack(tag, multiple):
            acked.update(range(first, tag + 1) if multiple else [tag])

        def on_nack(tag, multiple):
            nacked.append(tag)

        channel.events["basic_ack"].add(on_ack)
        channel.events["basic_nack"].add(on_nack)
        try:
            producer = Producer(channel, exchange=exchange())
            for message in messages:
                self._send(producer, message)
                self._next_tag += 1
            last = self._next_tag - 1
            while not nacked and not set(range(first, last + 1)) <= acked:
                connection.drain_events(timeout=10)
        except TimeoutError:
            pass  # unconfirmed ones are published again later
        finally:
            channel.events["basic_ack"].discard(on_ack)
            channel.events["basic_nack"].discard(on_nack)
        confirmed = 0
        for tag in range(first, first + len(messages)):
            if tag not in acked or (nacked and tag >= min(nacked)):
                break
            confirmed += 1
        return confirmed
