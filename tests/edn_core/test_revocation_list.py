"""The per-process revocation list, on a fake clock: never older than the refresh period, one
read per period however many checks, the last list kept through an outage."""

import logging
import threading

import pytest
from django.db import OperationalError

from edn_core.revocations.cache import RevocationList, RevocationsUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Table:
    """What the database holds; ``down`` makes reading it fail as an outage does."""

    def __init__(self) -> None:
        self.rows: dict[str, float] = {}
        self.reads, self.down = 0, False

    def __call__(self) -> dict[str, float]:
        if self.down:
            raise OperationalError("connection refused")
        self.reads += 1
        return dict(self.rows)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def table():
    return Table()


def test_a_revocation_counts_once_the_list_is_one_refresh_period_old(clock, table):
    revoked = RevocationList(table, clock)
    assert revoked.not_before("ann", 0.5) is None
    table.rows["ann"] = 42.0  # committed just after the read
    for step in (0.1, 0.2, 0.49):  # checks inside the period: the list as read, no query
        clock.now = 100.0 + step
        assert revoked.not_before("ann", 0.5) is None
    assert table.reads == 1
    clock.now = 100.5  # one period after the read: read again
    assert revoked.not_before("ann", 0.5) == 42.0 and table.reads == 2


def test_refresh_zero_reads_on_every_check_and_forget_reads_at_the_next(clock, table):
    revoked = RevocationList(table, clock)
    for _ in range(3):
        revoked.not_before("ann", 0)
    assert table.reads == 3
    revoked.not_before("ann", 60)  # the list just read is fresh: no query
    assert table.reads == 3
    revoked.forget()
    table.rows["ann"] = 7.0
    assert revoked.not_before("ann", 60) == 7.0 and table.reads == 4


def test_an_outage_keeps_the_last_list_logs_once_and_asks_again_each_period(clock, table, caplog):
    table.rows["ann"] = 1.0
    revoked = RevocationList(table, clock)
    revoked.not_before("ann", 0.5)
    table.down = True
    with caplog.at_level(logging.INFO, logger="edn_core.revocations.cache"):
        for step in (1, 2, 3):
            clock.now = 100.0 + step
            assert revoked.not_before("ann", 0.5) == 1.0
        table.down, table.rows["bob"] = False, 2.0
        clock.now = 104.0
        assert revoked.not_before("bob", 0.5) == 2.0
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "revocation list unreadable, the last one kept: OperationalError",
        "revocation list readable again",
    ]


def test_without_any_list_read_it_refuses_to_decide(clock, table):
    table.down = True
    revoked = RevocationList(table, clock)
    with pytest.raises(RevocationsUnavailable):
        revoked.not_before("ann", 0.5)
    table.down = False
    assert revoked.not_before("ann", 0.5) is None  # asked again at once: nothing to fall back on


class Versioned(Table):
    """A table with the version row every change of the list replaces."""

    def __init__(self) -> None:
        super().__init__()
        self.token: str | None = "v1"

    def version(self) -> str | None:
        if self.down:
            raise OperationalError("connection refused")
        return self.token


def test_a_refresh_reads_the_list_again_only_when_its_version_changed(clock):
    table = Versioned()
    revoked = RevocationList(table, clock, version=table.version)
    revoked.not_before("ann", 0.5)
    for step in (1, 2, 3):  # refreshes: the version read, the list not
        clock.now = 100.0 + step
        assert revoked.not_before("ann", 0.5) is None
    assert table.reads == 1
    table.rows["ann"], table.token = 42.0, "v2"  # a change commits list and version together
    clock.now = 104.0
    assert revoked.not_before("ann", 0.5) == 42.0 and table.reads == 2


def test_without_a_version_row_every_refresh_reads_the_list(clock):
    table = Versioned()
    table.token = None  # not written yet (or emptied)
    revoked = RevocationList(table, clock, version=table.version)
    for step in (0, 1, 2):
        clock.now = 100.0 + step
        revoked.not_before("ann", 0.5)
    assert table.reads == 3


def test_forget_reads_the_list_again_even_at_the_same_version(clock):
    table = Versioned()
    revoked = RevocationList(table, clock, version=table.version)
    revoked.not_before("ann", 0.5)
    table.rows["ann"] = 9.0  # a rolled-back test's list, say, at the version held
    revoked.forget()
    assert revoked.not_before("ann", 0.5) == 9.0 and table.reads == 2


def test_one_thread_reads_at_a_time_and_the_others_keep_the_list_they_hold(clock, table):
    """Fifty request threads finding the list stale open one database connection, not fifty."""
    table.rows["ann"] = 1.0
    revoked = RevocationList(table, clock)
    revoked.not_before("ann", 0.5)
    started, release = threading.Event(), threading.Event()

    def slow_load():
        started.set()
        assert release.wait(30)
        return table()

    revoked._load = slow_load
    clock.now = 101.0  # stale for every thread
    reader = threading.Thread(target=revoked.not_before, args=("ann", 0.5))
    reader.start()
    assert started.wait(30)
    table.rows["ann"] = 2.0
    assert revoked.not_before("ann", 0.5) == 1.0  # the list held, while the other one reads
    assert table.reads == 1
    release.set()
    reader.join(30)
    assert table.reads == 2 and revoked.not_before("ann", 0.5) == 2.0
