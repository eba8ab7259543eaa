"""The Analytics aggregate, without a database."""

import pytest

from analytics.domain import (
    NAME_MAX,
    Analytics,
    AnalyticsCreated,
    AnalyticsRenamed,
)
from edn_core.domain import ConcurrencyConflict, ValidationFailed, new_id


def made(name: str = "First") -> Analytics:
    aggregate = Analytics.create(new_id(), name=name)
    aggregate.pull_events()
    return aggregate


def test_create_records_created():
    aggregate = Analytics.create(new_id(), name="First")
    (event,) = aggregate.pending_events
    assert isinstance(event, AnalyticsCreated)
    assert (event.aggregate_id, event.name) == (aggregate.id, "First")


@pytest.mark.parametrize("name", ["", "   ", "x" * (NAME_MAX + 1)])
def test_create_refuses_a_blank_or_long_name(name):
    with pytest.raises(ValidationFailed) as refused:
        Analytics.create(new_id(), name=name)
    assert "name" in refused.value.errors


def test_rename_records_renamed_and_the_same_name_changes_nothing():
    aggregate = made("First")
    aggregate.rename("First")
    assert aggregate.pending_events == ()
    aggregate.rename("Second")
    (event,) = aggregate.pending_events
    assert isinstance(event, AnalyticsRenamed) and aggregate.name == "Second"


def test_rename_refuses_a_blank_name_and_keeps_the_old_one():
    aggregate = made("First")
    with pytest.raises(ValidationFailed):
        aggregate.rename(" ")
    assert aggregate.name == "First" and aggregate.pending_events == ()


def test_a_change_based_on_another_version_is_a_conflict():
    aggregate = made()
    aggregate.version = 3
    aggregate.check_version(3)
    with pytest.raises(ConcurrencyConflict):
        aggregate.check_version(2)
