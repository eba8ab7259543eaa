"""Transport over the Celery broker (RabbitMQ or Redis, chosen by ``CELERY_BROKER_URL``).

Topology: one durable topic exchange ``edn.events``; one durable queue per app that
subscribes (:func:`queue_name`), bound to the topics it handles. Messages are persistent
CloudEvents: a single event in structured mode (``application/cloudevents+json``), or a run
of consecutive outbox rows of one topic in batched mode (``application/cloudevents-batch+json``:
a JSON array of structured events, at most ``EDN_BUS_MESSAGE_BATCH`` of them and
``MAX_BATCH_BYTES``), so a busy relay pays the broker's per-message cost once per run; the
header ``edn-events`` counts the events of a batch. On RabbitMQ the relay publishes in
confirm mode and waits for the broker's acks (pipelined, not one round trip per message); only
the rows of the acked prefix of messages count as confirmed. Consumers (a Celery worker step,
see ``edn_core.bus.celery_consumer``) ack a message only after its handlers' transactions
committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from django.conf import settings
from kombu import Connection, Exchange, Producer, Queue, binding

from edn_core.bus.config import bus_config
from edn_core.bus.stores import every_service_apps
from edn_core.bus.subscriptions import subscriptions
from edn_core.bus.transports import Transport

__all__ = ["CeleryTransport", "app_queues", "declare_topology", "exchange", "queue_name"]

CONTENT_TYPE = "application/cloudevents+json"
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
MAX_BATCH_BYTES = 512 * 1024


class BrokerMessage(NamedTuple):
    topic: str
    body: str
    count: int  # events in ``body``
    message_id: str


def pack(rows: Sequence, limit: int) -> list[BrokerMessage]:
    """Outbox rows, in order, as broker messages: consecutive rows of one topic share one
    (batched mode) up to ``limit`` events and ``MAX_BATCH_BYTES``; a run of one stays a single
    structured event. Order is kept: the queue delivers messages in publish order."""
    packed: list[BrokerMessage] = []
    run: list = []
    size = 0

    def close() -> None:
        first = run[0]
        body = first.envelope if len(run) == 1 else "[" + ",".join(r.envelope for r in run) + "]"
        packed.append(BrokerMessage(first.topic, body, len(run), str(first.event_id)))

    for row in rows:
        length = len(row.envelope.encode())
        fits = len(run) < limit and size + length + 2 <= MAX_BATCH_BYTES  # "[" ... "]"
        if run and (row.topic != run[0].topic or not fits):
            close()
            run, size = [], 0
        run.append(row)
        size += length + 1  # and its comma
    if run:
        close()
    return packed


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
            queue_name(app),
            durable=True,
            bindings=[binding(events, routing_key=topic) for topic in sorted(names)],
        )
        for app, names in sorted(topics.items())
    }


def queue_name(app: str, services: Sequence[str] | None = None, namespace: str = "") -> str:
    """``<namespace>.<app>``, shared by the app's processes; an app in every service has one
    per service (``<namespace>.<app>.<its services, joined by "-">``): each gets every event."""
    hosted = settings.EDN_SERVICES if services is None else services
    per_service = f".{'-'.join(hosted)}" if app in every_service_apps() else ""
    return f"{namespace or settings.EDN_BROKER_NAMESPACE}.{app}{per_service}"


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

    def publish(self, rows: Sequence) -> int:
        messages = pack(rows, bus_config().message_batch)
        try:
            connection = self._connect()
            if connection.transport.driver_type == "amqp":
                confirmed = self._publish_confirmed(connection, messages)
            else:
                producer = Producer(connection.default_channel, exchange=exchange())
                for message in messages:
                    self._send(producer, message)
                confirmed = len(messages)  # Redis: LPUSH returned, the message is in the queue
        except Exception:
            self.close()  # reconnect on the next batch
            raise
        return sum(message.count for message in messages[:confirmed])

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
    def _send(producer: Producer, message: BrokerMessage) -> None:
        producer.publish(
            message.body,
            routing_key=message.topic,
            content_type=CONTENT_TYPE if message.count == 1 else BATCH_CONTENT_TYPE,
            content_encoding="utf-8",
            delivery_mode=2,
            retry=False,
            message_id=message.message_id,
            headers={"edn-events": message.count} if message.count > 1 else None,
            serializer=None,
        )

    def _publish_confirmed(self, connection: Connection, messages: list[BrokerMessage]) -> int:
        channel = connection.default_channel
        if not self._confirming:
            channel.confirm_select()
            self._confirming, self._next_tag = True, 1
        first = self._next_tag
        acked: set[int] = set()
        nacked: set[int] = set()

        def on_ack(tag, multiple):
            acked.update(range(first, tag + 1) if multiple else [tag])

        def on_nack(tag, multiple):  # multiple: every one not yet answered, up to ``tag``
            nacked.update(set(range(first, tag + 1) if multiple else [tag]) - acked)

        channel.events["basic_ack"].add(on_ack)
        channel.events["basic_nack"].add(on_nack)
        try:
            producer = Producer(channel, exchange=exchange())
            for message in messages:
                self._send(producer, message)
                self._next_tag += 1
            last = self._next_tag - 1
            # Wait for every answer: a nack (a full queue) can come before earlier messages' acks.
            while not set(range(first, last + 1)) <= acked | nacked:
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
