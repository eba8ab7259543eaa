"""On PostgreSQL: concurrent appends of one entry id to the database log, and concurrent
delivery transactions of the stream feed. The waits for a blocked session watch the server's
view of it (a condition, with a deadlock guard), never the clock."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from edn_core import tracing
from edn_core.bus.subscriptions import by_consumer, unsubscribe
from edn_core.envelope import IntegrationEvent
from edn_core.streams import feed
from edn_core.streams.database import DatabaseLog
from edn_core.streams.port import NewEntry, partition_of
from tests.edn_core.streams.adapter_database import ALIAS, APP, COMMITTING
from tests.edn_core.streams.test_database_log import (
    GUARD,
    backend_pid,
    run_threads,
    wait_until_blocked,
)

pytestmark = COMMITTING
PLACED = "v1.StreamFedPlaced"


@pytest.fixture(autouse=True)
def on_postgres(require_postgres):
    require_postgres(ALIAS)


@pytest.fixture(autouse=True)
def registered_event_schemas():
    """The feed's handler is called directly: no schema is looked up."""


def one_partition_apart(partitions: int) -> tuple[str, str]:
    """Two keys in partitions 0 and 1."""
    found = {}
    for n in range(1000):
        found.setdefault(partition_of(f"k{n}", partitions), f"k{n}")
    return found[0], found[1]


def append_while_another_holds(log: DatabaseLog, stream: str, first_entry, second_entry):
    """The first append's transaction stays open until the second append waits for it."""
    appended, finish, second_pid, result = threading.Event(), threading.Event(), [], {}

    def first() -> None:
        with transaction.atomic(using=ALIAS):
            result["first"] = log.append(stream, [first_entry])
            appended.set()
            assert finish.wait(GUARD)

    def second() -> None:
        assert appended.wait(GUARD)
        second_pid.append(backend_pid())
        try:
            result["second"] = log.append(stream, [second_entry])
        except IntegrityError as error:
            result["second"] = error

    def watch() -> None:
        wait_until_blocked(second_pid)
        finish.set()

    run_threads([first, second, watch])
    return result


def test_an_id_appended_by_two_sessions_at_once_is_stored_once():
    """The second append waits for the partition the first holds, then finds its id."""
    log, stream = DatabaseLog(APP, ALIAS), f"s-{uuid.uuid4().hex[:16]}"
    log.ensure(stream, 2)
    result = append_while_another_holds(
        log, stream, NewEntry("k", {"by": "first"}, id="e-1"), NewEntry("k", {"by": 2}, id="e-1")
    )
    assert result["second"] == result["first"]
    partition = result["first"][0][0]
    assert [(e.value, e.id) for e in log.read(stream, partition, 0, 10)] == [
        ({"by": "first"}, "e-1")
    ]
    assert log.info(stream).last_offsets[partition] == 1, "the offset taken was handed back"


def test_an_id_appended_under_two_keys_at_once_is_refused_the_second_time():
    """Other partitions, so no shared lock: the unique (stream, entry id) refuses the second."""
    log, stream = DatabaseLog(APP, ALIAS), f"s-{uuid.uuid4().hex[:16]}"
    log.ensure(stream, 2)
    key0, key1 = one_partition_apart(2)
    result = append_while_another_holds(
        log, stream, NewEntry(key0, {"n": 1}, id="e-1"), NewEntry(key1, {"n": 2}, id="e-1")
    )
    assert isinstance(result["second"], IntegrityError)
    assert log.info(stream).lengths == {0: 1, 1: 0}


def test_concurrent_feed_deliveries_take_turns_instead_of_deadlocking(settings):
    """Two delivery transactions each append two events, to partitions 0 then 1 and 1 then
    0: locking partitions as they come would deadlock; the feed holds its streams first."""
    stream = f"fed-{uuid.uuid4().hex[:12]}"
    settings.EDN_STREAMS = {stream: {"topics": [PLACED], "partitions": 2}}
    (consumer,) = feed.feed_streams(APP)
    handler = by_consumer(consumer).handler
    log = feed.log_for(APP, stream)
    log.ensure(stream, 2)
    key0, key1 = one_partition_apart(2)
    first_done, second_waits, second_pid = threading.Event(), threading.Event(), []

    def deliver(key: str) -> None:
        handler(
            IntegrationEvent(
                str(uuid.uuid4()), PLACED, "/t", timezone.now(), key, 1, "c", None,
                tracing.child_traceparent(None), {},
            )
        )  # fmt: skip

    def first() -> None:
        with transaction.atomic(using=ALIAS):
            deliver(key0)
            first_done.set()
            assert second_waits.wait(GUARD)
            deliver(key1)

    def second() -> None:
        assert first_done.wait(GUARD)
        second_pid.append(backend_pid())
        with transaction.atomic(using=ALIAS):
            deliver(key1)
            deliver(key0)

    def watch() -> None:
        wait_until_blocked(second_pid)
        second_waits.set()

    try:
        run_threads([first, second, watch])
    finally:
        unsubscribe(consumer)
    assert log.info(stream).lengths == {0: 2, 1: 2}
