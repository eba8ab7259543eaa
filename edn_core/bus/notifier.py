"""Announce commits to the bus workers of every process (PostgreSQL ``NOTIFY``), off the
committing thread, many commits in one notification.

A commit that wrote outbox rows or appended events calls :func:`announce` once it is durable.
A daemon thread then sends one ``pg_notify`` per database on its own connection, in its own
transaction that does not wait for the disk. Commits announced while it sends are covered by
the next notification: every commit announced before the thread takes the pending set was
visible before its notification went out, so a woken worker sees it. A notification lost (a
crash right after the commit, the database away) leaves the commit to the workers' sweep.
"""

from __future__ import annotations

import logging
import threading

import psycopg
from django.db import connections

__all__ = ["announce", "close"]

logger = logging.getLogger(__name__)
_SQL = "SELECT set_config('synchronous_commit', 'off', true), pg_notify(%s, %s)"


class _Notifier:
    def __init__(self) -> None:
        self._pending: dict[str, str] = {}  # alias -> channel
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._connections: dict[str, psycopg.Connection] = {}

    def announce(self, alias: str, channel: str) -> None:
        with self._lock:
            self._pending[alias] = channel
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="edn-notify", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                pending, self._pending = self._pending, {}
                closing = self._thread is not threading.current_thread()
            for alias, channel in pending.items():
                self._send(alias, channel)
            if closing:
                for conn in self._connections.values():
                    conn.close()
                self._connections.clear()
                return

    def close(self) -> None:
        """Send what is pending, close the connections and end the thread (a test session
        before its databases are dropped); the next announcement starts it again."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._wake.set()
            thread.join(60)

    def _send(self, alias: str, channel: str) -> None:
        try:
            conn = self._connections.get(alias)
            if conn is None or conn.closed:
                params = connections[alias].get_connection_params()
                conn = psycopg.connect(**{**params, "autocommit": True})
                self._connections[alias] = conn
            conn.execute(_SQL, [channel, alias])
        except Exception as error:  # the database away: the sweep finds the commit
            logger.warning("could not notify the bus workers of %s: %s", alias, error)
            bad = self._connections.pop(alias, None)
            if bad is not None:
                bad.close()


_notifier = _Notifier()


def announce(alias: str, channel: str) -> None:
    """After a commit on ``alias`` (PostgreSQL): notify ``channel`` soon, from another thread."""
    _notifier.announce(alias, channel)


def close() -> None:
    """Flush and close the notifier (its thread and connections)."""
    _notifier.close()
