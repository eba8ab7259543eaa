"""The transport contract (tests/edn_core/transport_contract.py) for the Celery transport, on a
real RabbitMQ and a real Redis (skipped without them, failed under EDN_REQUIRE_SERVICES=1).

Each test has a broker namespace of its own (exchange and queues, deleted after). The consumer
side is the Celery worker step's delivery (``MessageBatch`` without an event loop: each message
delivered as it is taken), fed from the apps' durable queues; every message must be settled,
acked or requeued, and a requeued one is taken again.
"""

import json
import uuid
from contextlib import contextmanager

import pytest
from kombu import Connection, Producer, Queue

from edn_core.bus import batch, celery_consumer
from edn_core.bus.transports import celery
from edn_core.bus.transports.celery import CONTENT_TYPE, CeleryTransport, app_queues, exchange
from tests.conftest import BROKERS, broker_or_skip
from tests.edn_core.transport_contract import (
    INVALID,
    TOPIC,
    Backend,
    TransportContract,
    dead_letters,
    fails_first,
)
from tests.support.deployment import free_port

ROUNDS = 20  # takes off the queues before the suite calls the consumer stuck


class Taken:
    """A message as the consumer step gets it, remembering how the step settled it."""

    def __init__(self, message) -> None:
        self.message, self.body, self.headers = message, message.body, message.headers
        self.settled: str | None = None

    def ack(self) -> None:
        self.message.ack()
        self.settled = "acked"

    def requeue(self) -> None:
        self.message.requeue()
        self.settled = "requeued"


class CeleryBackend(Backend):
    def __init__(self, connection: Connection, settings, monkeypatch) -> None:
        self.connection, self.settings, self.monkeypatch = connection, settings, monkeypatch
        self.events_per_message: list[int] = []  # of the messages orders' queue delivered

    def transport(self):
        return CeleryTransport()

    def channel(self):
        return self.connection.default_channel

    def consume(self) -> None:
        steps = {app: celery_consumer.MessageBatch() for app in app_queues()}
        for _ in range(ROUNDS):
            taken = [
                (app, Taken(m)) for app, queue in app_queues().items() for m in self.take(queue)
            ]
            if not taken:
                return
            for app, message in taken:
                steps[app].add(app, message)
                assert message.settled, f"{app}: a message neither acked nor requeued"
                self.redeliveries += message.settled == "requeued"
                if app == "orders" and message.settled == "acked":
                    self.events_per_message.append(int(message.headers.get("edn-events", 1)))
        raise AssertionError(f"the queues still hold messages after {ROUNDS} rounds")

    def take(self, queue: Queue) -> list:
        bound, messages = queue(self.channel()), []
        while (message := bound.get(no_ack=False)) is not None:
            messages.append(message)
        return messages

    def units(self) -> list[int]:
        return self.events_per_message

    def send_raw(self, topic: str, body: str) -> None:
        producer = Producer(self.channel(), exchange=exchange())
        producer.publish(body, routing_key=topic, content_type=CONTENT_TYPE, serializer=None)

    def stale_subscription(self, topic: str) -> None:
        queue = app_queues()["orders"].name
        self.channel().queue_bind(queue=queue, exchange=exchange().name, routing_key=topic)

    @contextmanager
    def down(self):
        real = self.settings.CELERY_BROKER_URL
        scheme = real.split(":", 1)[0]
        self.settings.CELERY_BROKER_URL = f"{scheme}://guest:guest@127.0.0.1:{free_port()}//"
        try:
            yield "(?i)connection refused"
        finally:
            self.settings.CELERY_BROKER_URL = real

    @contextmanager
    def one_row_per_message(self):
        saved = self.settings.EDN_BUS
        self.settings.EDN_BUS = {**saved, "message_batch": 1}
        try:
            yield
        finally:
            self.settings.EDN_BUS = saved

    @contextmanager
    def consumer_database_down(self, times: int):
        with self.monkeypatch.context() as patch:
            patch.setattr(batch, "deliver_batch", fails_first(times, batch.deliver_batch))
            yield

    def close(self) -> None:
        for queue in app_queues().values():
            queue(self.channel()).delete()
        exchange()(self.channel()).delete()


class OnRabbitMQ(CeleryBackend):
    @contextmanager
    def refusing_from(self, number: int):
        """A queue of its own bound to the topic takes ``number - 1`` messages and makes the
        broker nack every later one (``x-overflow: reject-publish``): real publisher confirms."""
        arguments = {"x-max-length": number - 1, "x-overflow": "reject-publish"}
        name = f"{self.settings.EDN_BROKER_NAMESPACE}.full"
        full = Queue(name, exchange(), routing_key=TOPIC, durable=False, queue_arguments=arguments)
        bound = full(self.channel())
        bound.declare()
        try:
            with self.one_row_per_message():
                yield
        finally:
            bound.delete()


class OnRedis(CeleryBackend):
    @contextmanager
    def refusing_from(self, number: int):
        """Redis confirms nothing itself (LPUSH returned or raised), so the connection is
        made to fail on the ``number``-th push, as when Redis goes away part-way."""
        sent, real = [0], Producer.publish

        def publish(producer, *args, **kwargs):
            sent[0] += 1
            if sent[0] >= number:
                raise ConnectionError("Connection closed by server.")
            return real(producer, *args, **kwargs)

        with self.one_row_per_message(), self.monkeypatch.context() as patch:
            patch.setattr(celery.Producer, "publish", publish)
            yield


class CeleryContract(TransportContract):
    """The Celery transport on any broker, and what only it has: batched-mode messages."""

    backend_class: type[CeleryBackend]
    broker: str
    run_of_six = [4, 2]  # EDN_BUS_MESSAGE_BATCH = 4: a message of four, then one of two

    @pytest.fixture
    def backend(self, settings, monkeypatch):
        url = broker_or_skip(BROKERS[self.broker])
        settings.CELERY_BROKER_URL = url
        settings.EDN_BROKER_NAMESPACE = f"edn-contract-{uuid.uuid4().hex[:8]}"
        with Connection(url) as connection:
            celery.declare_topology(connection)
            backend = self.backend_class(connection, settings, monkeypatch)
            yield backend
            backend.close()

    def test_an_invalid_event_inside_a_batched_message_is_dead_lettered_alone(
        self, backend, subscribers, outbox
    ):
        ids = outbox.write("a", "b", "c")
        events = [json.loads(row.envelope) for row in outbox.rows()]
        del events[1]["time"]
        producer = Producer(backend.channel(), exchange=exchange())
        producer.publish(
            json.dumps(events),
            routing_key=TOPIC,
            content_type="application/cloudevents-batch+json",
            headers={"edn-events": 3},
            serializer=None,
        )
        backend.consume()
        self.assert_each_handled_once(subscribers, [ids[0], ids[2]])
        assert [(consumer, json.loads(envelope)) for consumer, envelope in dead_letters()] == [
            (INVALID, events[1])
        ]


class TestCeleryOnRabbitMQ(CeleryContract):
    backend_class, broker = OnRabbitMQ, "rabbitmq"


class TestCeleryOnRedis(CeleryContract):
    backend_class, broker = OnRedis, "redis"
    # LPUSH has no confirm to wait for: the transport counts a publish as confirmed once every
    # message of it was pushed, so a failure part-way confirms none (they come again, and the
    # inbox drops the duplicates).
    confirms_prefix = False
