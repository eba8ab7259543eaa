"""A commit that wrote outbox rows or appended events wakes the bus workers of every process
(PostgreSQL NOTIFY) once it is committed -- not before, and not for a rollback."""

import uuid

import psycopg
import pytest
from django.db import connections, transaction

from edn_core.bus import outbox
from edn_core.bus.outbox import NOTIFY_CHANNEL, wake_after_commit

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def test_a_commit_is_announced_after_it_and_a_rollback_is_not(require_postgres, monkeypatch):
    require_postgres("orders")
    sent = []
    waker = outbox._waker("orders")
    monkeypatch.setattr(outbox, "_wake_listeners", [sent.append])  # the in-process wake
    params = connections["orders"].get_connection_params()
    listener = psycopg.connect(**{**params, "autocommit": True})
    listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
    try:
        with pytest.raises(RuntimeError), transaction.atomic(using="orders"):
            wake_after_commit("orders")
            raise RuntimeError("rolled back")
        assert sent == []
        with transaction.atomic(using="orders"):
            wake_after_commit("orders")
            wake_after_commit("orders")  # once per transaction
            assert sum(entry[1] is waker for entry in connections["orders"].run_on_commit) == 1
            assert sent == []  # not before the commit
        assert sent == ["orders"]
        # the other processes' wake; the timeout only ends a run that is stuck
        notes = [n.payload for n in listener.notifies(timeout=120, stop_after=1)]
        assert notes == ["orders"]
    finally:
        listener.close()


def test_an_append_notifies_with_its_insert_once_per_transaction(require_postgres, monkeypatch):
    """An event-store append sends its NOTIFY with the insert (one round trip; PostgreSQL
    delivers it at the commit): nothing for a rolled-back append, one notification for a
    transaction of several appends and outbox rows, the in-process wake after the commit."""
    require_postgres("orders")
    from tests.edn_core.eventsourcing.store_contract import Counted, make_store

    store, sent = make_store(), []
    monkeypatch.setattr(outbox, "_wake_listeners", [sent.append])
    params = connections["orders"].get_connection_params()
    listener = psycopg.connect(**{**params, "autocommit": True})
    listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
    stream = uuid.uuid4()
    try:
        with pytest.raises(RuntimeError), store.atomic():
            store.append(stream, 0, [Counted(aggregate_id=stream, by=1)])
            raise RuntimeError("rolled back")
        with store.atomic():
            store.append(stream, 0, [Counted(aggregate_id=stream, by=1)])
            store.append(stream, 1, [Counted(aggregate_id=stream, by=2)])
            wake_after_commit("orders")  # as an outbox write in the same transaction does
            assert [e[1] for e in connections["orders"].run_on_commit] == [
                outbox._local_waker("orders")
            ]
            assert sent == []
        assert sent == ["orders"]
        with store.atomic():  # a marker: the notifications before it are all there are
            connections["orders"].connection.execute("NOTIFY edn_outbox, 'marker'")
        # the timeout only ends a run that is stuck
        notes = [n.payload for n in listener.notifies(timeout=120, stop_after=2)]
        assert notes == ["orders", "marker"]
    finally:
        listener.close()
