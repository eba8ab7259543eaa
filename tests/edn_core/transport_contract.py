"""The contract every transport keeps, as the rest of the platform relies on it.

One abstract suite, as pyeventsourcing's ``tests/persistence.py`` for its recorders: subclass
:class:`TransportContract` once per backend (``tests/edn_core/test_transport_contract_*.py``),
give it a ``backend`` fixture returning a :class:`Backend` (the transport under test and the
consumer side it delivers to), and state with the class attributes where the transport
legitimately differs; each test then asserts what that transport does instead, nothing is
skipped. How to add a transport: docs/testing.md, "Transport contract suite".

The suite writes events of :data:`TOPIC` to the customers outbox in a transaction (as a command
does) and relays them with ``relay_batch``; one handler in orders and one in inventory record
each event whose delivery transaction committed, so an effect rolled back does not count.
The tests are transactional: the consumers commit for real, as in production.
"""

from __future__ import annotations

import json
import re
import uuid
from abc import ABC, abstractmethod
from collections import Counter
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import timedelta

import pytest
from django.db import OperationalError, transaction
from django.utils import timezone

from customers.commands import UpdateCustomer
from edn_core import schemas, tracing
from edn_core.bus import retries
from edn_core.bus.dispatch import HANDLED
from edn_core.bus.outbox import append
from edn_core.bus.relay import PublishFailed, relay_batch
from edn_core.bus.stores import all_stores, store_for
from edn_core.bus.subscriptions import subscribe, unsubscribe
from edn_core.bus.transports import Transport
from edn_core.cqrs import send
from edn_core.events import IntegrationEvent
from orders.models import InboxEntry
from tests.customers.factories import AddressFactory, CreateCustomerFactory
from tests.orders.factories import PlaceOrderFactory, stored_order

TOPIC, IGNORED = "v1.ContractPinged", "v1.ContractIgnored"
INVALID = "edn.invalid-envelope"
APPS = ("orders", "inventory")


class Backend(ABC):
    """What the suite needs from a backend: its transport and the consumer side it feeds."""

    redeliveries = 0  # deliveries the wire repeated because the consumer asked it to

    @abstractmethod
    def transport(self) -> Transport:
        """Return a new publisher, as a relay gets one (the suite closes it)."""

    @abstractmethod
    def consume(self) -> None:
        """Deliver everything on the wire to the subscribing apps as this transport's consumer
        does, until nothing is left; count in ``redeliveries`` what came again on request."""

    @abstractmethod
    def units(self) -> list[int]:
        """How many events each wire unit (message, request, call) carried, in order."""

    @abstractmethod
    def send_raw(self, topic: str, body: str) -> None:
        """Put ``body`` on the wire under ``topic``, as a broken or foreign publisher would."""

    @abstractmethod
    def stale_subscription(self, topic: str) -> None:
        """Route ``topic`` to the orders app though no handler there takes it (a binding or
        subscription left from an older version); nothing to do where nothing routes."""

    @abstractmethod
    def down(self) -> AbstractContextManager[str]:
        """Inside: publishing fails as with the broker or sidecar unreachable. Yields a
        pattern that the error the relay records on the outbox row matches."""

    @abstractmethod
    def refusing_from(self, number: int) -> AbstractContextManager:
        """Inside: the ``number``-th message published from now on is refused, and so is
        every later one of that publish."""

    @abstractmethod
    def consumer_database_down(self, times: int) -> AbstractContextManager:
        """Inside: the first ``times`` deliveries fail as with the subscribers' database
        unreachable (nothing can be recorded)."""


def fails_first(times: int, real):
    """``real``, except that its first ``times`` calls raise as a database outage."""
    left = [times]

    def call(*args, **kwargs):
        if left[0] > 0:
            left[0] -= 1
            raise OperationalError("the subscribers' database is unreachable")
        return real(*args, **kwargs)

    return call


class Subscriber:
    """A handler of :data:`TOPIC` in ``app``: records events once their delivery committed
    (``handled``), fails on the event ids in ``failing``."""

    def __init__(self, app: str) -> None:
        self.app, self.handled, self.failing = app, [], set()

        def contract_ping(event: IntegrationEvent) -> None:
            if event.id in self.failing:
                raise RuntimeError(f"{app} fails on {event.id} on purpose")
            alias = store_for(app).alias
            transaction.on_commit(lambda: self.handled.append(event), using=alias)

        self.handler = contract_ping
        self.consumer = f"{app}.contract_ping"

    def ids(self) -> list[str]:
        return [event.id for event in self.handled]


class Outbox:
    """The customers outbox as the suite writes it: each aggregate's events in sequence."""

    def __init__(self) -> None:
        self.store = store_for("customers")
        self.sequences: Counter[str] = Counter()

    def write(self, *aggregates: str, topic: str = TOPIC, trace: str | None = None) -> list:
        """One event per aggregate, in one transaction; each with its own trace unless given."""
        events = []
        for aggregate in aggregates:
            self.sequences[aggregate] += 1
            sequence = self.sequences[aggregate]
            events.append(
                IntegrationEvent(
                    id=str(uuid.uuid4()),
                    topic=topic,
                    source="/customers",
                    time=timezone.now(),
                    aggregate_id=aggregate,
                    sequence=sequence,
                    correlation_id=f"corr-{aggregate}-{sequence}",
                    causation_id=str(uuid.uuid4()),
                    traceparent=trace or tracing.child_traceparent(None),
                    data={"aggregate": aggregate, "n": sequence},
                )
            )
        with transaction.atomic(using=self.store.alias):
            append("customers", events)
        return [event.id for event in events]

    def rows(self) -> list:
        return list(self.store.rows(self.store.outbox).order_by("id"))

    def sent(self) -> list[bool]:
        return [row.sent_at is not None for row in self.rows()]

    def published(self) -> list[IntegrationEvent]:
        return [IntegrationEvent.from_json(row.envelope) for row in self.rows()]

    def unsend(self) -> None:
        """Mark every row unsent again, as after a relay that died before marking them."""
        self.store.rows(self.store.outbox).update(sent_at=None)


def dead_letters() -> list[tuple[str, str]]:
    """``(consumer, envelope)`` of every dead letter, over every app."""
    found = set()
    for store in all_stores():
        rows = store.rows(store.failures).filter(status=store.failures.DEAD)
        found |= set(rows.values_list("consumer", "envelope"))
    return sorted(found)


class TransportContract:
    """The tests every transport passes. A subclass gives the ``backend`` fixture and says:"""

    pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

    # The subscriber sees the published traceparent (else the same trace id, with the span of
    # whatever carried it: the Dapr sidecar continues our trace with a span of its own).
    traceparent_kept = True
    # A refusal part-way through a publish confirms the messages before it (else none of
    # them: the relay publishes them all again and the inbox drops the duplicates).
    confirms_prefix = True
    # An event reaching an app none of whose handlers takes it is a dead letter (decision
    # 0028; else nothing is recorded, as when no app is named: the local transport).
    dead_letters_unrouted = True
    # A delivery the consumer could not record comes again from the transport (broker
    # requeue, sidecar RETRY); else the publish fails and the relay publishes it again.
    redelivers_itself = True
    # Events per wire unit for a run of six events of one topic and one trace, with
    # EDN_BUS_MESSAGE_BATCH = 4.
    run_of_six: list[int]

    @pytest.fixture(autouse=True)
    def subscribers(self, registered_event_schemas) -> list[Subscriber]:
        schemas.source().register(TOPIC, {"type": "object"})
        subscribers = [Subscriber(app) for app in APPS]
        for subscriber in subscribers:
            subscribe(TOPIC, app=subscriber.app)(subscriber.handler)
        yield subscribers
        for subscriber in subscribers:
            unsubscribe(subscriber.consumer)

    @pytest.fixture
    def outbox(self) -> Outbox:
        return Outbox()

    def relay(self, backend: Backend) -> int:
        transport = backend.transport()
        try:
            return relay_batch(store_for("customers"), transport)
        finally:
            transport.close()

    def as_seen(self, event: IntegrationEvent) -> IntegrationEvent:
        """What a subscriber must see of an event (see ``traceparent_kept``)."""
        return event if self.traceparent_kept else replace(event, traceparent=trace_of(event))

    def assert_each_handled_once(self, subscribers, ids: list[str]) -> None:
        """Each subscriber handled each of ``ids`` once (in any order: order is promised per
        aggregate only, see the test of it) and has one inbox row for it."""
        for subscriber in subscribers:
            assert sorted(subscriber.ids()) == sorted(ids), subscriber.app
            store = store_for(subscriber.app)
            inbox = store.rows(store.inbox).filter(consumer=subscriber.consumer)
            assert sorted(inbox.values_list("event_id", flat=True)) == sorted(ids)

    def test_a_batch_is_confirmed_marked_sent_and_reaches_each_subscriber_intact(
        self, backend, subscribers, outbox
    ):
        ids = outbox.write("a", "b") + outbox.write("a", "c")
        assert self.relay(backend) == 4
        assert outbox.sent() == [True] * 4
        backend.consume()
        self.assert_each_handled_once(subscribers, ids)
        published = {event.id: self.as_seen(event) for event in outbox.published()}
        for subscriber in subscribers:  # id, type, source, time, trace, data...: all of it
            assert {e.id: self.as_seen(e) for e in subscriber.handled} == published
        assert dead_letters() == [] and backend.redeliveries == 0

    def test_an_event_published_again_has_one_effect(self, backend, subscribers, outbox):
        ids = outbox.write("a", "b")
        self.relay(backend)
        backend.consume()
        outbox.unsend()
        assert self.relay(backend) == 2
        backend.consume()
        self.assert_each_handled_once(subscribers, ids)

    def test_each_aggregates_events_arrive_in_order(self, backend, subscribers, outbox):
        trace = tracing.child_traceparent(None)  # one trace: bulk where the transport has it
        for _ in range(4):
            outbox.write("a", "b", "c", trace=trace)
        assert self.relay(backend) == 12
        backend.consume()
        for subscriber in subscribers:
            sequences = {}
            for event in subscriber.handled:
                sequences.setdefault(event.aggregate_id, []).append(event.sequence)
            assert sequences == {name: [1, 2, 3, 4] for name in "abc"}, subscriber.app

    def test_a_failing_handler_is_retried_then_dead_lettered_after_max_attempts(
        self, backend, subscribers, outbox, settings
    ):
        settings.EDN_BUS = {**settings.EDN_BUS, "max_attempts": 3}
        orders, inventory = subscribers
        bad, good = outbox.write("a", "b")
        orders.failing.add(bad)
        self.relay(backend)
        backend.consume()
        assert backend.redeliveries == 0  # our own table retries it, not the transport
        assert (orders.ids(), sorted(inventory.ids())) == ([good], sorted([bad, good]))
        store = store_for("orders")
        failure = store.rows(store.failures).get()
        assert (failure.consumer, failure.event_id) == (orders.consumer, bad)
        assert (failure.status, failure.attempts) == (failure.RETRYING, 1)
        later = timezone.now() + timedelta(days=365)
        assert [retries.retry_due(store, now=later) for _ in range(3)] == [1, 1, 0]
        failure.refresh_from_db()
        assert (failure.status, failure.attempts) == (failure.DEAD, 3)
        orders.failing.clear()
        assert retries.replay(store, failure) == HANDLED  # the envelope as it arrived
        assert orders.ids() == [good, bad]

    def test_an_event_no_handler_takes_is_a_dead_letter(self, backend, subscribers, outbox):
        backend.stale_subscription(IGNORED)
        (ignored,) = outbox.write("a", topic=IGNORED)
        ids = outbox.write("b")
        assert self.relay(backend) == 2
        backend.consume()
        dead = [(consumer, json.loads(envelope)["id"]) for consumer, envelope in dead_letters()]
        assert dead == ([(INVALID, ignored)] if self.dead_letters_unrouted else [])
        self.assert_each_handled_once(subscribers, ids)

    def test_a_malformed_message_is_a_dead_letter_and_nothing_else_is_lost(
        self, backend, subscribers, outbox
    ):
        malformed = ["{not json", json.dumps({"specversion": "1.0", "id": "x", "type": TOPIC})]
        ids = outbox.write("a")
        self.relay(backend)
        for body in malformed:
            backend.send_raw(TOPIC, body)
        ids += outbox.write("b")
        self.relay(backend)
        backend.consume()
        assert dead_letters() == sorted((INVALID, body) for body in malformed)
        self.assert_each_handled_once(subscribers, ids)

    def test_while_the_transport_is_down_the_rows_stay_unsent_for_the_relay(
        self, backend, subscribers, outbox
    ):
        ids = outbox.write("a", "b")
        with backend.down() as reason, pytest.raises(PublishFailed):
            self.relay(backend)
        first = outbox.rows()[0]
        assert outbox.sent() == [False, False] and first.attempts == 1
        assert re.search(reason, first.last_error), first.last_error
        backend.consume()
        assert [s.handled for s in subscribers] == [[], []]
        assert self.relay(backend) == 2
        backend.consume()
        self.assert_each_handled_once(subscribers, ids)

    def test_a_refusal_part_way_confirms_only_what_went_before_it(
        self, backend, subscribers, outbox
    ):
        ids = outbox.write("a", "b", "c", "d")
        with backend.refusing_from(3), pytest.raises(PublishFailed):
            self.relay(backend)
        confirmed = 2 if self.confirms_prefix else 0
        assert outbox.sent() == [True] * confirmed + [False] * (4 - confirmed)
        assert outbox.rows()[confirmed].attempts == 1
        assert self.relay(backend) == 4 - confirmed
        backend.consume()
        self.assert_each_handled_once(subscribers, ids)

    def test_a_delivery_the_consumer_could_not_record_comes_again(
        self, backend, subscribers, outbox
    ):
        ids = outbox.write("a", "b")
        with backend.consumer_database_down(times=1):
            if self.redelivers_itself:
                assert self.relay(backend) == 2
            else:
                with pytest.raises(PublishFailed, match="OperationalError"):
                    self.relay(backend)
            backend.consume()
        if self.redelivers_itself:
            assert backend.redeliveries == 1
        else:
            assert outbox.sent() == [False, False] and self.relay(backend) == 2
        self.assert_each_handled_once(subscribers, ids)

    def test_a_run_of_one_topic_travels_in_fewer_units_than_events(
        self, backend, subscribers, outbox, settings
    ):
        settings.EDN_BUS = {**settings.EDN_BUS, "message_batch": 4}
        ids = outbox.write(*"abcdef", trace=tracing.child_traceparent(None))
        assert self.relay(backend) == 6
        backend.consume()
        assert backend.units() == self.run_of_six
        self.assert_each_handled_once(subscribers, ids)

    def test_an_address_change_reaches_the_customers_orders_once(self, backend, outbox):
        customer = CreateCustomerFactory.create()
        order = PlaceOrderFactory.create(customer_id=customer.id)
        address = AddressFactory(street="1 Contract St")
        update = UpdateCustomer(
            customer_id=customer.id, expected_version=None, shipping_address=address
        )
        assert send(update).accepted
        assert self.relay(backend) == 1
        backend.consume()
        outbox.unsend()
        assert self.relay(backend) == 1
        backend.consume()
        assert stored_order(order.id).shipping_address.street == "1 Contract St"
        consumer = "orders.update_shipping_address_of_open_orders"
        assert InboxEntry.objects.filter(consumer=consumer).count() == 1


def trace_of(event: IntegrationEvent) -> str | None:
    return tracing.trace_id(event.traceparent)
