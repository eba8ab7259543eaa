"""The database log beyond the contract: dense offsets, the caller's transaction, and on
PostgreSQL concurrent appenders (distinct, increasing offsets, visible in offset order) and
concurrent creators of one stream. The waits for a blocked appender watch the server's view
of its session (a condition, with a deadlock guard), never the clock."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.db import connections, transaction

from edn_core.streams.database import DatabaseLog
from edn_core.streams.feed import append_creating
from edn_core.streams.port import NewEntry, UnknownStream, partition_of
from tests.edn_core.streams.adapter_database import ALIAS, APP, COMMITTING

pytestmark = COMMITTING
GUARD = 60  # seconds: a deadlock guard, not a measure


@pytest.fixture(autouse=True)
def registered_event_schemas():
    """Streams need no event schemas."""


@pytest.fixture
def log() -> DatabaseLog:
    return DatabaseLog(APP, ALIAS)


def new_stream(log: DatabaseLog, partitions: int) -> str:
    name = f"s-{uuid.uuid4().hex[:16]}"
    log.ensure(name, partitions)
    return name


class Boom(Exception):
    pass


def test_offsets_are_dense_from_one_and_lag_is_their_difference(log):
    stream = new_stream(log, 2)
    keys = [f"k{n}" for n in range(10)]
    positions = log.append(stream, [NewEntry(k, {"n": n}) for n, k in enumerate(keys * 3)])
    for partition in (0, 1):
        offsets = [o for p, o in positions if p == partition]
        assert offsets == list(range(1, len(offsets) + 1))
    log.commit(stream, "g", {0: 2})
    ends, done = log.info(stream).last_offsets, log.committed(stream, "g")
    pending = len(log.consume(stream, "g", "c", [0, 1], 1000))
    assert pending == sum(ends[p] - done[p] for p in (0, 1))


def test_a_log_that_never_saw_a_stream_checks_its_partition_count(log):
    stream = new_stream(log, 3)
    other = DatabaseLog(APP, ALIAS)  # knows nothing of the stream yet
    with pytest.raises(ValueError, match="3 partitions"):
        other.ensure(stream, 2)
    other.ensure(stream, 3)
    assert other.info(stream).partitions == 3
    assert log.definitions.filter(stream=stream).count() == 3


def test_a_stream_whose_creation_rolled_back_is_made_again_in_the_same_transaction(log):
    """A stream made in a savepoint that rolled back is not known afterwards, and a stream
    known but gone (its rows deleted) answers UnknownStream without spoiling the caller's
    transaction: ``append_creating`` makes it and appends, in that transaction."""
    with transaction.atomic(using=ALIAS):
        with pytest.raises(Boom), transaction.atomic(using=ALIAS):
            made = new_stream(log, 2)
            raise Boom
        assert append_creating(log, made, 2, [NewEntry("k", {"n": 1})]) == [
            (partition_of("k", 2), 1)
        ]
    gone = new_stream(log, 2)  # committed: known to the log
    log.definitions.filter(stream=gone).delete()
    with transaction.atomic(using=ALIAS):
        with pytest.raises(UnknownStream):
            log.append(gone, [NewEntry("k", {"n": 1})])
        append_creating(log, gone, 2, [NewEntry("k", {"n": 2})])
    assert [e.value for e in log.read(made, partition_of("k", 2), 0, 10)] == [{"n": 1}]
    assert [e.value for e in log.read(gone, partition_of("k", 2), 0, 10)] == [{"n": 2}]


def test_an_append_and_a_commit_join_the_callers_transaction(log):
    stream = new_stream(log, 1)
    log.append(stream, [NewEntry("k", {"n": 0})])
    with pytest.raises(Boom), transaction.atomic(using=ALIAS):
        assert log.append(stream, [NewEntry("k", {"n": 1})]) == [(0, 2)]
        log.commit(stream, "g", {0: 2})
        raise Boom
    assert [e.value for e in log.read(stream, 0, 0, 10)] == [{"n": 0}]
    assert log.committed(stream, "g") == {0: 0}
    assert log.info(stream).last_offsets == {0: 1}, "the counter rolled back with the entry"
    with transaction.atomic(using=ALIAS):
        assert log.append(stream, [NewEntry("k", {"n": 2})]) == [(0, 2)]
        log.commit(stream, "g", {0: 1})
    assert [e.value["n"] for e in log.consume(stream, "g", "c", [0], 10)] == [2]


# -- PostgreSQL: concurrency ------------------------------------------------------------------


def run_threads(targets) -> None:
    """Run each target in a thread of its own (each with its own connection); re-raise the
    first failure."""
    failures: list[BaseException] = []

    def run(target) -> None:
        try:
            target()
        except BaseException as error:
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(GUARD)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    if failures:
        raise failures[0]


def wait_until_blocked(pid_box: list[int]) -> None:
    """Return once the session whose backend pid gets into ``pid_box`` waits for a lock."""
    deadline = time.monotonic() + GUARD
    with connections[ALIAS].cursor() as cursor:
        while time.monotonic() < deadline:
            if pid_box:
                cursor.execute(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid_box[0]]
                )
                if cursor.fetchone() == ("Lock",):
                    return
            time.sleep(0.005)  # a poll of a condition, not a measure
    raise AssertionError("the other session never waited for the lock")


def backend_pid() -> int:
    with connections[ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_concurrent_appenders_get_distinct_increasing_offsets(log, require_postgres):
    """8 threads append 3-partition batches at once, round after round, each taking the
    partitions in another order in its batches: no deadlock, no duplicate or missing offset,
    each writer's entries of a key in its order, append times never going back."""
    require_postgres(ALIAS)
    stream, writers, rounds = new_stream(log, 3), 8, 15
    keys = {p: next(f"k{n}" for n in range(99) if partition_of(f"k{n}", 3) == p) for p in range(3)}
    start = threading.Barrier(writers, timeout=GUARD)
    returned: dict[int, list] = {}

    def writer(w: int) -> None:
        order = [keys[(w + i) % 3] for i in range(3)]
        returned[w] = []
        for r in range(rounds):
            start.wait()
            batch = [NewEntry(key, {"w": w, "r": r}) for key in order]
            returned[w] += log.append(stream, batch)

    run_threads([lambda w=w: writer(w) for w in range(writers)])
    everything = [position for positions in returned.values() for position in positions]
    assert len(set(everything)) == len(everything) == writers * rounds * 3
    for partition in range(3):
        entries = log.read(stream, partition, 0, 10_000)
        assert [e.offset for e in entries] == list(range(1, writers * rounds + 1))
        times = [e.appended_at for e in entries]
        assert times == sorted(times)
        for w in range(writers):
            assert [e.value["r"] for e in entries if e.value["w"] == w] == list(range(rounds))


def test_a_partition_becomes_visible_in_offset_order(log, require_postgres):
    """An append inside an open transaction holds its partition: a second appender waits for
    it, and neither entry is visible before the first commits; then both are, in order."""
    require_postgres(ALIAS)
    stream = new_stream(log, 1)
    appended, finish, second_pid = threading.Event(), threading.Event(), []
    result: dict[str, list] = {}

    def first() -> None:
        with transaction.atomic(using=ALIAS):
            result["first"] = log.append(stream, [NewEntry("k", {"by": "first"})])
            appended.set()
            assert finish.wait(GUARD)

    def second() -> None:
        assert appended.wait(GUARD)
        second_pid.append(backend_pid())
        result["second"] = log.append(stream, [NewEntry("k", {"by": "second"})])

    def watch() -> None:
        wait_until_blocked(second_pid)
        assert log.read(stream, 0, 0, 10) == [], "nothing is visible before the commit"
        finish.set()

    run_threads([first, second, watch])
    assert result == {"first": [(0, 1)], "second": [(0, 2)]}
    assert [e.value["by"] for e in log.read(stream, 0, 0, 10)] == ["first", "second"]


def test_creators_of_one_stream_with_other_counts_agree_on_one(log, require_postgres):
    """Two processes ensure a new stream with 2 and 3 partitions at once: the one that
    commits first wins; the other is refused and adds no partition."""
    require_postgres(ALIAS)
    name = f"s-{uuid.uuid4().hex[:16]}"
    created, finish, second_pid, refused = threading.Event(), threading.Event(), [], []

    def first() -> None:
        with transaction.atomic(using=ALIAS):
            log.ensure(name, 2)
            created.set()
            assert finish.wait(GUARD)

    def second() -> None:
        assert created.wait(GUARD)
        second_pid.append(backend_pid())
        with pytest.raises(ValueError) as error:
            DatabaseLog(APP, ALIAS).ensure(name, 3)
        refused.append(str(error.value))

    def watch() -> None:
        wait_until_blocked(second_pid)
        finish.set()

    run_threads([first, second, watch])
    assert refused and "2 partitions" in refused[0]
    assert log.info(name).partitions == 2
    assert log.definitions.filter(stream=name).count() == 2
