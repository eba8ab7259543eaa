"""The event store's contract: the same tests on every backend (SQLite and PostgreSQL).

Collected as part of the suite on the configured backend (test_store_contract.py) and run
once more on the other backend in a subprocess (test_store_backends.py).
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from edn_core.domain import ConcurrencyConflict, DomainEvent, NotFound
from edn_core.eventsourcing import EventCodec, EventSourcedAggregate, Upcasters, applies
from edn_core.eventsourcing.repository import EventSourcedRepository
from edn_core.eventsourcing.store import EventStore
from orders.models import OrderEvent, OrderSnapshot, OutboxMessage


@dataclass(frozen=True, kw_only=True)
class Counted(DomainEvent):
    by: int


class Counter(EventSourcedAggregate):
    snapshot_every = 10

    def __init__(self, id):
        super().__init__(id)
        self.total = 0

    def count(self, by: int) -> None:
        self.emit(Counted(aggregate_id=self.id, by=by))

    @applies(Counted)
    def _counted(self, event: Counted) -> None:
        self.total += event.by

    def to_snapshot(self) -> dict:
        return {"total": self.total}

    @classmethod
    def from_snapshot(cls, id, state):
        counter = cls(id)
        counter.total = state["total"]
        return counter


def make_store(upcasters=None) -> EventStore:
    return EventStore("orders", "counter", EventCodec(Counted, upcasters=upcasters))


def counter_with(repo, *steps) -> Counter:
    counter = Counter(uuid.uuid4())
    for by in steps:
        counter.count(by)
    repo.add(counter)
    return counter


def test_append_numbers_versions_and_positions():
    store, stream = make_store(), uuid.uuid4()
    with store.atomic():
        first = store.append(stream, 0, [Counted(aggregate_id=stream, by=n) for n in (1, 2)])
        second = store.append(stream, 2, [Counted(aggregate_id=stream, by=3)])
    assert [e.version for e in first + second] == [1, 2, 3]
    positions = [e.position for e in first + second]
    assert positions == sorted(positions) and len(set(positions)) == 3
    read = store.read(stream)
    assert [(e.version, e.data["by"], e.type) for e in read] == [
        (1, 1, "Counted"),
        (2, 2, "Counted"),
        (3, 3, "Counted"),
    ]
    assert store.read(stream, after=1, upto=2)[0].version == 2


@pytest.mark.parametrize("expected", [0, 1, 3])
def test_append_at_another_version_conflicts_and_writes_nothing(expected):
    store, stream = make_store(), uuid.uuid4()
    with store.atomic():
        store.append(stream, 0, [Counted(aggregate_id=stream, by=1) for _ in range(2)])
    with pytest.raises(ConcurrencyConflict), store.atomic():
        store.append(stream, expected, [Counted(aggregate_id=stream, by=9)])
    assert [e.data["by"] for e in store.read(stream)] == [1, 1]


def test_append_many_is_all_or_nothing():
    store, ok, stale = make_store(), uuid.uuid4(), uuid.uuid4()
    with store.atomic():
        store.append(stale, 0, [Counted(aggregate_id=stale, by=1)])
    with pytest.raises(ConcurrencyConflict), store.atomic():
        store.append_many(
            [
                (str(ok), 0, [Counted(aggregate_id=ok, by=1)]),
                (str(stale), 0, [Counted(aggregate_id=stale, by=2)]),
            ]
        )
    assert store.read(ok) == [] and len(store.read(stale)) == 1


def test_metadata_carries_the_context():
    from edn_core import tracing

    store, stream = make_store(), uuid.uuid4()
    context = tracing.MessageContext("corr-1", "cause-1", tracing.child_traceparent(None), "alice")
    with tracing.using(context), store.atomic():
        store.append(stream, 0, [Counted(aggregate_id=stream, by=1)])
    (event,) = store.read(stream)
    assert event.metadata == {
        "correlation_id": "corr-1",
        "causation_id": "cause-1",
        "traceparent": context.traceparent,
        "subject": "alice",
    }
    assert event.recorded_at is not None


def test_repository_round_trip_and_expected_version():
    repo = EventSourcedRepository(Counter, make_store())
    counter = counter_with(repo, 1, 2)
    assert counter.version == 2 and not counter.pending_events
    loaded = repo.change(counter.id, lambda c: c.count(5), expected_version=2)
    assert (loaded.total, loaded.version) == (8, 3)
    with pytest.raises(ConcurrencyConflict):
        repo.change(counter.id, lambda c: c.count(1), expected_version=2)
    with pytest.raises(NotFound):
        repo.get(uuid.uuid4())
    assert repo.get(counter.id).total == 8


def test_two_writers_of_one_version_one_wins():
    repo = EventSourcedRepository(Counter, make_store())
    counter = counter_with(repo, 1)
    first, second = repo.get(counter.id), repo.get(counter.id)
    first.count(1)
    second.count(2)
    repo.save(first)
    with pytest.raises(ConcurrencyConflict), repo.atomic():
        repo.save(second)
    assert repo.get(counter.id).total == 2


def test_snapshots_are_taken_every_n_and_used_on_load():
    repo = EventSourcedRepository(Counter, make_store())
    counter = counter_with(repo, *([1] * 25))
    snapshot = OrderSnapshot.objects.using(repo.alias).get(stream_id=str(counter.id))
    assert (snapshot.version, snapshot.state) == (25, {"total": 25})
    repo.events_read = 0
    assert repo.get(counter.id).total == 25 and repo.events_read == 0
    repo.change(counter.id, lambda c: c.count(2))
    repo.events_read = 0
    assert repo.get(counter.id).total == 27 and repo.events_read == 1


def test_a_snapshot_of_another_shape_is_ignored():
    repo = EventSourcedRepository(Counter, make_store())
    counter = counter_with(repo, *([1] * 10))
    OrderSnapshot.objects.using(repo.alias).filter(stream_id=str(counter.id)).update(
        snapshot_version=99, state={"nonsense": True}
    )
    repo.events_read = 0
    assert repo.get(counter.id).total == 10 and repo.events_read == 10


def test_time_travel_by_version_and_time():
    repo = EventSourcedRepository(Counter, make_store())
    counter = counter_with(repo, 1, 10)
    for by in (100, 1000):
        repo.change(counter.id, lambda c, by=by: c.count(by))
    assert repo.get(counter.id, version=2).total == 11
    events = OrderEvent.objects.using(repo.alias).filter(stream_id=str(counter.id))
    start = timezone.now() - timedelta(days=3)
    for day, row in zip((0, 0, 1, 2), events.order_by("version"), strict=True):
        row.recorded_at = start + timedelta(days=day)
        row.save(using=repo.alias)
    assert repo.get(counter.id, as_of=start + timedelta(hours=1)).total == 11
    assert repo.get(counter.id, as_of=start + timedelta(days=1, hours=1)).total == 111
    with pytest.raises(NotFound):
        repo.get(counter.id, as_of=start - timedelta(days=1))
    with pytest.raises(NotFound):
        repo.get(counter.id, version=9)
    history = repo.history(counter.id)
    assert [(e.version, state.total) for e, state in history] == [
        (1, 1), (2, 11), (3, 111), (4, 1111)
    ]  # fmt: skip


def test_old_shapes_are_upcast_on_read_and_never_rewritten():
    old, stream = make_store(), uuid.uuid4()
    with old.atomic():
        old.append(stream, 0, [Counted(aggregate_id=stream, by=3)])
    OrderEvent.objects.using(old.alias).filter(stream_id=str(stream)).update(
        data={"aggregate_id": str(stream), "amount": 3}
    )
    upcasters = Upcasters()

    @upcasters.register("Counted", 1)
    def amount_became_by(data):
        return {**{k: v for k, v in data.items() if k != "amount"}, "by": data["amount"]}

    repo = EventSourcedRepository(Counter, make_store(upcasters))
    assert repo.get(stream).total == 3
    (row,) = OrderEvent.objects.using(old.alias).filter(stream_id=str(stream))
    assert row.schema_version == 1 and "amount" in row.data


def test_published_events_go_to_the_outbox_in_the_same_transaction():
    from orders.domain import OrderShipped

    codec = EventCodec(OrderShipped)
    store, stream = EventStore("orders", "order", codec), uuid.uuid4()
    before = OutboxMessage.objects.using(store.alias).count()
    with pytest.raises(RuntimeError), store.atomic():
        store.append(stream, 0, [OrderShipped(aggregate_id=stream, customer_id=uuid.uuid4())])
        raise RuntimeError("the command fails after appending")
    assert OutboxMessage.objects.using(store.alias).count() == before
    assert store.read(stream) == []
    with store.atomic():
        store.append(stream, 0, [OrderShipped(aggregate_id=stream, customer_id=uuid.uuid4())])
    row = OutboxMessage.objects.using(store.alias).get(aggregate_id=str(stream))
    assert (row.topic, row.sequence) == ("v1.OrderShipped", 1)
