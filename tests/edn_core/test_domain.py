"""AggregateRoot, Entity and ValueObject: pure Python, no database."""

import uuid
from dataclasses import FrozenInstanceError, dataclass

import pytest

from edn_core.domain import (
    AggregateRoot,
    ConcurrencyConflict,
    DomainEvent,
    Entity,
    ValidationFailed,
    ValueObject,
    new_id,
)


@dataclass(frozen=True)
class Money(ValueObject):
    amount: int
    currency: str

    def __post_init__(self):
        if self.amount < 0:
            raise ValidationFailed({"amount": ["negative"]})


@dataclass(frozen=True, kw_only=True)
class Renamed(DomainEvent):
    name: str


class Thing(AggregateRoot):
    def rename(self, name: str) -> None:
        self.record(Renamed(aggregate_id=self.id, name=name))


def test_value_objects_compare_by_value_and_are_immutable():
    assert Money(5, "EUR") == Money(5, "EUR")
    assert Money(5, "EUR") != Money(5, "USD")
    with pytest.raises(FrozenInstanceError):
        Money(5, "EUR").amount = 6


def test_value_object_replace_reruns_invariants():
    assert Money(5, "EUR").replace(amount=7) == Money(7, "EUR")
    with pytest.raises(ValidationFailed) as error:
        Money(5, "EUR").replace(amount=-1)
    assert error.value.errors == {"amount": ["negative"]}


def test_entities_compare_by_identity_and_type():
    same = uuid.uuid4()
    assert Entity(same) == Entity(same)
    assert Entity(same) != Thing(same)
    assert Entity(new_id()) != Entity(new_id())
    assert len({Entity(same), Entity(same)}) == 1


def test_aggregate_records_events_in_order_until_pulled():
    thing = Thing(new_id())
    thing.rename("a")
    thing.rename("b")
    assert [event.name for event in thing.pending_events] == ["a", "b"]
    assert all(event.aggregate_id == thing.id for event in thing.pending_events)
    assert [event.name for event in thing.pull_events()] == ["a", "b"]
    assert thing.pending_events == ()


def test_new_aggregate_starts_at_version_zero():
    assert Thing(new_id()).version == 0


def test_check_version_accepts_current_or_any_and_refuses_stale():
    thing = Thing(new_id(), version=3)
    thing.check_version(3)
    thing.check_version(None)
    with pytest.raises(ConcurrencyConflict) as error:
        thing.check_version(2)
    assert (error.value.expected, error.value.actual) == (2, 3)
