"""Partition leases inside a consumer group: members share the partitions, a released or dead
member's partitions go to another. On PostgreSQL the members are separate sessions (and, for
the kill, a separate process); the test waits for a dead session's locks by asking the server
for them (a blocking lock, bounded by a deadlock guard), never by sleeping."""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import uuid

import psycopg
import pytest
from django.db import connections

from edn_core.streams.leases import PartitionLeases, lease_key
from tests.edn_core.streams.adapter_database import ALIAS, COMMITTING

pytestmark = COMMITTING
GUARD = 60  # seconds: a deadlock guard, not a measure


@pytest.fixture(autouse=True)
def registered_event_schemas():
    """Leases need no event schemas."""


@pytest.fixture
def names() -> tuple[str, str]:
    return f"s-{uuid.uuid4().hex[:12]}", f"g-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def members(names):
    made: list[PartitionLeases] = []

    def member(partitions=4, stream=None, group=None) -> PartitionLeases:
        made.append(PartitionLeases(ALIAS, stream or names[0], group or names[1], partitions))
        return made[-1]

    yield member
    for leases in made:
        leases.release()


def test_members_of_a_group_share_its_partitions(members, names):
    first, second = members(), members()
    assert first.acquire() == {0, 1, 2, 3}
    assert first.acquire() == {0, 1, 2, 3} == first.held
    assert second.acquire() == set()
    first.release()
    assert first.held == set()
    assert second.acquire() == {0, 1, 2, 3}
    assert first.acquire() == set()
    assert members(group="another").acquire() == {0, 1, 2, 3}, "groups are independent"
    assert members(stream="another").acquire() == {0, 1, 2, 3}, "streams are independent"


def test_a_member_takes_at_most_its_share(members):
    first, second = members(), members()
    assert first.acquire(most=2) == {0, 1}
    assert second.acquire(most=3) == {2, 3}
    assert first.acquire() == {0, 1}, "nothing else is free"
    second.release()
    assert first.acquire(most=3) == {0, 1, 2}
    assert first.acquire() == {0, 1, 2, 3}
    assert members(partitions=[3, 5]).acquire() == {5}


def test_leaving_the_context_releases(members, names):
    with PartitionLeases(ALIAS, *names, 2) as leases:
        assert leases.acquire() == {0, 1}
        assert members(2).acquire() == set()
    assert members(2).acquire() == {0, 1}


def test_a_forgotten_member_frees_its_partitions(members, names):
    leases = PartitionLeases(ALIAS, *names, 3)
    assert leases.acquire() == {0, 1, 2}
    del leases
    gc.collect()
    wait_for_release(names, range(3))
    assert members(3).acquire() == {0, 1, 2}


# -- PostgreSQL: sessions and processes -------------------------------------------------------


def wait_for_release(names, partitions) -> None:
    """On PostgreSQL, return once the server has freed the partitions' locks (it frees a
    closed session's locks when it notices the close): take them in a blocking way, then give
    them back. Elsewhere the release is immediate."""
    if connections[ALIAS].vendor != "postgresql":
        return
    params = connections[ALIAS].get_connection_params()
    with psycopg.connect(**params, autocommit=True) as session:
        session.execute(f"SET lock_timeout = '{GUARD}s'")
        for partition in partitions:
            session.execute("SELECT pg_advisory_lock(%s)", [lease_key(*names, partition)])
        session.execute("SELECT pg_advisory_unlock_all()")


def _member_process(names, pipe) -> None:
    leases = PartitionLeases(ALIAS, *names, 4)
    pipe.send(sorted(leases.acquire(most=3)))
    pipe.recv()  # holds its partitions until killed


def test_a_killed_member_loses_its_partitions_to_another(members, names, require_postgres):
    require_postgres(ALIAS)
    connections.close_all()  # the child must not share the parent's sessions
    context = multiprocessing.get_context("fork")
    pipe, child_end = context.Pipe()
    child = context.Process(target=_member_process, args=(names, child_end), daemon=True)
    child.start()
    try:
        assert pipe.poll(GUARD), "the member process did not answer"
        assert pipe.recv() == [0, 1, 2]
        survivor = members()
        assert survivor.acquire() == {3}
        os.kill(child.pid, signal.SIGKILL)
        child.join(GUARD)
        assert child.exitcode == -signal.SIGKILL
        wait_for_release(names, [0, 1, 2])
        assert survivor.acquire() == {0, 1, 2, 3}
    finally:
        if child.is_alive():
            child.kill()
            child.join(GUARD)


def test_a_member_whose_session_was_lost_holds_nothing_after_acquire(members, require_postgres):
    require_postgres(ALIAS)
    lost, other = members(), members()
    assert lost.acquire() == {0, 1, 2, 3}
    pid = lost._sessions[0].info.backend_pid
    with connections[ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    wait_for_release((lost.stream, lost.group), range(4))
    assert other.acquire() == {0, 1, 2, 3}
    assert lost.acquire() == set(), "it noticed, reconnected, and found everything taken"
    other.release()
    assert lost.acquire() == {0, 1, 2, 3}
