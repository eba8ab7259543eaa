"""The processor runtime in one process, on the database log of the run's backend (SQLite by
default, PostgreSQL when ``ANALYTICS_DATABASE_URL`` says so): a backlog processed in batches
gives what one pass gives; entries delivered again count once; a member that lost its
partitions unnoticed cannot overwrite its successor; bad entries are retried with backoff
(the test's clock), then dead-lettered while processing goes on, and replayed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from edn_core.bus.stores import find_model
from edn_core.streams import processors
from edn_core.streams.database import DatabaseLog
from edn_core.streams.runtime import Runner, forget, replay_dead_letter, run
from edn_core.streams.runtime_models import ProcessorDeadLetterBase as DeadLetter
from tests.edn_core.streams import runtime_support as support
from tests.edn_core.streams.adapter_database import ALIAS, DATABASE

pytestmark = DATABASE
PARTITIONS = 4


class Clock:
    """The runtime's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


class AllPartitions:
    """Leases that always answer "all of them": two members believing they own the same
    partitions (what an unnoticed lost lease looks like)."""

    def __init__(self, partitions: int) -> None:
        self.partitions = list(range(partitions))
        self.held = set(self.partitions)

    def acquire(self, most=None):
        return set(self.partitions)

    def release(self) -> None:
        pass


@pytest.fixture(autouse=True)
def nothing_broken():
    yield
    support.BROKEN.clear()


@pytest.fixture
def log():
    log = DatabaseLog(support.APP, ALIAS)
    yield log
    log.close()


@pytest.fixture
def stream(log) -> str:
    name = f"orders-{uuid.uuid4().hex[:8]}"
    log.ensure(name, PARTITIONS)
    return name


def until_caught_up(round_) -> bool:
    return round_.consumed == 0


def dead_letters(name: str):
    model = find_model(support.APP, DeadLetter)
    return model._default_manager.using(ALIAS).filter(processor=name)


def test_a_backlog_in_batches_gives_what_one_pass_gives(log, stream):
    log.append(stream, support.orders(600))
    name = f"stats-{uuid.uuid4().hex[:8]}"
    seen = []
    done = run(
        support.processor(name, stream, batch_size=37),
        log,
        until=until_caught_up,
        progress=seen.append,
        poll=0,
    )
    expected = support.recompute(support.read_all(log, stream))
    assert support.stored(name, ALIAS) == expected
    assert expected["finals"] and expected["late"] and expected["windows"]
    assert done == 600 == seen[-1].done
    assert seen[-1].lag == 0 and seen[0].lag > 0
    committed = log.committed(stream, name)
    assert sorted([p, committed[p]] for p in committed) == [p[:2] for p in expected["positions"]]


def test_entries_delivered_again_count_once(log, stream):
    log.append(stream, support.orders(300))
    name = f"stats-{uuid.uuid4().hex[:8]}"
    processor = support.processor(name, stream, batch_size=50)
    run(processor, log, until=until_caught_up, poll=0)
    log.reset(stream, name, dict.fromkeys(range(PARTITIONS), 0))  # the log forgot its offsets
    log.append(stream, support.orders(400)[300:])
    runner = Runner(processor, log)
    rounds = [runner.run_once() for _ in range(12)]
    runner.close()
    assert sum(r.applied for r in rounds) == 100
    # the first batch of each partition is skipped, and moves the log's offsets to the positions
    assert 0 < sum(r.skipped for r in rounds) < 300
    assert support.stored(name, ALIAS) == support.recompute(support.read_all(log, stream))


def test_a_member_that_lost_its_partitions_unnoticed_cannot_overwrite(log, stream):
    entries = support.orders(300)
    log.append(stream, entries[:200])
    name = f"stats-{uuid.uuid4().hex[:8]}"
    processor = support.processor(name, stream)
    old = Runner(processor, log, leases=AllPartitions(PARTITIONS))
    new = Runner(processor, log, leases=AllPartitions(PARTITIONS))
    old.acquire()
    assert new.run_once().applied == 200  # the new owner goes on
    log.append(stream, entries[200:])
    refused = old.run_once()  # from the state it loaded before
    assert (refused.consumed, refused.applied) == (100, 0), "its write was refused"
    assert old.owned == set(), "it loads its partitions again"
    assert old.run_once().applied == 100
    assert new.run_once().consumed == 0
    assert support.stored(name, ALIAS) == support.recompute(support.read_all(log, stream))


def test_a_bad_entry_is_retried_with_backoff_then_dead_lettered(log, stream):
    appended = log.append(stream, support.orders(120))
    partition, offset = appended[30]
    support.BROKEN.add("o30")
    clock, name = Clock(), f"stats-{uuid.uuid4().hex[:8]}"
    processor = support.processor(
        name, stream, batch_size=1000, attempts=3, backoff=timedelta(seconds=10)
    )
    runner = Runner(processor, log, clock=clock)
    first = runner.run_once()
    assert first.failed == 1 and first.applied == 119 - _after(appended, 30)
    row = dead_letters(name).get()
    assert (row.status, row.attempts, row.stream, row.partition, row.offset) == (
        DeadLetter.RETRYING,
        1,
        stream,
        partition,
        offset,
    )
    assert row.next_attempt_at == clock.now + timedelta(seconds=10)
    assert "ValueError: order o30 cannot be read" in row.error
    assert row.value["id"] == "o30"
    assert runner.run_once().consumed == 0, "its partition waits; the others are done"
    clock.advance(seconds=9)
    assert runner.run_once().consumed == 0
    clock.advance(seconds=1)
    assert runner.run_once().failed == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (DeadLetter.RETRYING, 2)
    assert row.next_attempt_at == clock.now + timedelta(seconds=20), "the backoff doubles"
    clock.advance(seconds=20)
    last = runner.run_once()
    assert (last.failed, last.applied) == (1, _after(appended, 30))
    row.refresh_from_db()
    assert (row.status, row.attempts, row.next_attempt_at) == (DeadLetter.DEAD, 3, None)
    runner.close()
    entries = support.read_all(log, stream)
    assert support.stored(name, ALIAS) == support.recompute(entries, skip={(partition, offset)})


def _after(appended, index: int) -> int:
    """How many entries after ``appended[index]`` are in its partition."""
    partition = appended[index][0]
    return sum(1 for p, _ in appended[index + 1 :] if p == partition)


def test_an_entry_that_goes_through_on_a_retry_is_resolved(log, stream):
    log.append(stream, support.orders(80))
    support.BROKEN.add("o5")
    clock, name = Clock(), f"stats-{uuid.uuid4().hex[:8]}"
    processor = support.processor(name, stream, attempts=3, backoff=timedelta(seconds=1))
    runner = Runner(processor, log, clock=clock)
    assert runner.run_once().failed == 1
    support.BROKEN.clear()
    clock.advance(seconds=1)
    assert runner.run_once().failed == 0
    assert dead_letters(name).get().status == DeadLetter.RESOLVED
    assert runner.retrying == {}
    runner.close()
    assert support.stored(name, ALIAS) == support.recompute(support.read_all(log, stream))


def test_a_dead_letter_replayed_counts_once(log, stream):
    log.append(stream, support.orders(60))
    support.BROKEN.add("o55")
    name = f"stats-{uuid.uuid4().hex[:8]}"
    processor = processors.register(support.processor(name, stream, attempts=1))
    run(processor, log, until=until_caught_up, poll=0)
    row = dead_letters(name).get()
    assert row.status == DeadLetter.DEAD
    assert replay_dead_letter(support.APP, row.pk) == "failed", "still broken"
    row.refresh_from_db()
    assert (row.status, row.attempts) == (DeadLetter.DEAD, 2)
    support.BROKEN.clear()
    assert replay_dead_letter(support.APP, row.pk) == "replayed"
    assert replay_dead_letter(support.APP, row.pk) == DeadLetter.RESOLVED, "once only"
    assert support.stored(name, ALIAS) == support.recompute(support.read_all(log, stream))


def test_the_owner_replays_a_dead_letter_of_its_partition(log, stream):
    log.append(stream, support.orders(60))
    support.BROKEN.add("o50")
    name = f"stats-{uuid.uuid4().hex[:8]}"
    processor = processors.register(support.processor(name, stream, attempts=1))
    runner = Runner(processor, log)
    runner.run_once()
    support.BROKEN.clear()
    row = dead_letters(name).get()
    assert replay_dead_letter(support.APP, row.pk) == "queued", "the runner holds the partition"
    runner.run_once()
    row.refresh_from_db()
    assert row.status == DeadLetter.RESOLVED
    runner.close()
    assert support.stored(name, ALIAS) == support.recompute(support.read_all(log, stream))


def test_members_of_a_group_take_fair_shares_and_take_over(log, stream, require_postgres):
    require_postgres(ALIAS)
    processor = support.processor(f"stats-{uuid.uuid4().hex[:8]}", stream)
    first, second, third = (Runner(processor, log) for _ in range(3))
    try:
        assert first.acquire() == {0, 1, 2, 3}, "alone"
        assert second.acquire() == set(), "a second member: nothing is free yet"
        assert first.acquire() == {0, 1}, "more than its share: it gave the rest back"
        assert second.acquire() == {2, 3}
        assert third.acquire() == set(), "three members: shares of two, all taken"
        first.close()
        assert third.acquire() == {0, 1}, "two members again: it takes the dead one's share"
        assert second.acquire() == {2, 3}
        third.close()
        assert second.acquire() == {0, 1, 2, 3}, "alone again"
    finally:
        for runner in (first, second, third):
            runner.close()


def test_windows_of_quiet_partitions_close_by_the_clock_when_asked(log, stream):
    log.append(stream, support.orders(100))
    clock, name = Clock(), f"stats-{uuid.uuid4().hex[:8]}"
    assert clock.now > datetime.fromtimestamp(support.T0 / 1000 + 3600, UTC)
    processor = support.processor(name, stream, close_idle_after=timedelta(minutes=1))
    runner = Runner(processor, log, clock=clock)
    assert runner.run_once().applied == 100
    expected = support.recompute(support.read_all(log, stream))
    assert support.stored(name, ALIAS)["windows"] == expected["windows"] != []
    assert runner.run_once().consumed == 0  # a quiet round: the clock closes them
    runner.close()
    closed = support.stored(name, ALIAS)
    assert closed["windows"] == []
    assert closed["finals"] == sorted(expected["finals"] + expected["windows"])


def test_a_processor_forgotten_starts_over_from_the_first_entry(log, stream):
    log.append(stream, support.orders(150))
    name = f"stats-{uuid.uuid4().hex[:8]}"
    support.BROKEN.add("o9")
    processor = support.processor(name, stream, attempts=1)
    runner = Runner(processor, log)
    runner.run_once()
    with pytest.raises(RuntimeError, match="stop the members"):
        forget(processor, log)
    runner.close()
    support.BROKEN.clear()
    forget(processor, log)
    assert all(rows == [] for rows in support.stored(name, ALIAS).values())
    assert not dead_letters(name).exists()
    assert run(processor, log, until=until_caught_up, poll=0) == 150
    assert support.stored(name, ALIAS) == support.recompute(support.read_all(log, stream))
