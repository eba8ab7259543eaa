"""Commits are announced to other processes by NOTIFY from the notifier's thread: after the
commit, once for many commits, and again after the database connection was lost."""

import threading

import psycopg
import pytest
from django.db import connections, transaction

from edn_core.bus import notifier
from edn_core.bus.outbox import NOTIFY_CHANNEL, wake_after_commit

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def listener(alias: str) -> psycopg.Connection:
    params = connections[alias].get_connection_params()
    conn = psycopg.connect(**{**params, "autocommit": True})
    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
    return conn


def notifications(conn: psycopg.Connection, count: int) -> list[str]:
    """The next ``count`` notifications (read in one go: two that arrive together are read
    from the socket together). The timeout only ends a run that is stuck."""
    return [note.payload for note in conn.notifies(timeout=120, stop_after=count)]


def next_notification(conn: psycopg.Connection) -> str:
    (payload,) = notifications(conn, 1)
    return payload


def test_a_commit_is_announced_after_it_and_a_rollback_is_not(require_postgres, monkeypatch):
    require_postgres("orders")
    announced = []
    real_announce = notifier.announce
    monkeypatch.setattr(
        "edn_core.bus.outbox.announce", lambda *a: (announced.append(a), real_announce(*a))
    )
    conn = listener("orders")
    try:
        with pytest.raises(RuntimeError), transaction.atomic(using="orders"):
            wake_after_commit("orders")
            raise RuntimeError("rolled back")
        assert announced == []
        with transaction.atomic(using="orders"):
            wake_after_commit("orders")
            wake_after_commit("orders")  # once per transaction
            assert announced == []  # not before the commit
        assert announced == [("orders", NOTIFY_CHANNEL)]
        assert next_notification(conn) == "orders"
    finally:
        conn.close()


def test_many_commits_share_notifications_and_a_lost_connection_is_opened_again(
    require_postgres, monkeypatch
):
    require_postgres("orders")
    conn = listener("orders")
    sending = threading.Event()
    release = threading.Event()
    real_send = notifier._notifier._send

    def held_send(alias, channel):  # hold the thread in its first send
        sending.set()
        release.wait(120)
        real_send(alias, channel)

    try:
        monkeypatch.setattr(notifier._notifier, "_send", held_send)
        notifier.announce("orders", NOTIFY_CHANNEL)
        assert sending.wait(120)
        for _ in range(50):  # announced while the thread sends: covered by one more
            notifier.announce("orders", NOTIFY_CHANNEL)
        release.set()
        assert notifications(conn, 2) == ["orders", "orders"]
        assert list(conn.notifies(timeout=0.05)) == []
        monkeypatch.setattr(notifier._notifier, "_send", real_send)
        notifier._notifier._connections["orders"].close()  # the database dropped it
        notifier.announce("orders", NOTIFY_CHANNEL)  # a new connection
        assert next_notification(conn) == "orders"
    finally:
        release.set()
        conn.close()
