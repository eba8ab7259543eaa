"""Who reads which partition of a stream inside a consumer group, across processes.

A processor takes the partitions no one holds with :meth:`PartitionLeases.acquire` (calling it
again from time to time picks up those that became free) and reads only those; a partition
is read by one member of the group at a time, so the entries of a key are processed in order.

- PostgreSQL: a session advisory lock per (stream, group, partition), held by a connection
  of its own (not Django's, which a request or a transaction may close or reuse). A process
  that dies loses its partitions as soon as the server sees its connection close, and
  another member's next ``acquire`` takes them over. A lost connection loses every lease:
  ``acquire`` notices on its next call, reconnects and answers with what it holds then.
- SQLite (one process) and any other database: a registry in this process.

Leases are not fenced: a member that loses its connection keeps reading until its next
``acquire``. Processors whose effects commit with the group's offsets (the database log, the
windowed processors) stay exactly-once anyway, since a commit lower than the group's
committed offset changes nothing and the state is read in the same transaction.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import weakref
from collections.abc import Iterable

import psycopg
from django.db import connections

__all__ = ["PartitionLeases", "lease_key"]

_registry: dict[tuple, int] = {}  # (database, stream, group, partition) -> owner id
_registry_lock = threading.Lock()


def lease_key(stream: str, group: str, partition: int) -> int:
    """The advisory lock key of a partition in a group: a stable signed 64-bit hash (the
    one-key space of PostgreSQL advisory locks, apart from the relay's two-key locks)."""
    text = f"edn-stream-lease\0{stream}\0{group}\0{partition}".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big", signed=True)


class PartitionLeases:
    """The partitions ``range(partitions)`` (or the given ones) of ``stream`` for one member
    of ``group``, on the database ``alias``. Thread-safe; a context manager releasing all."""

    def __init__(
        self, alias: str, stream: str, group: str, partitions: int | Iterable[int]
    ) -> None:
        self.alias, self.stream, self.group = alias, stream, group
        wanted = range(partitions) if isinstance(partitions, int) else partitions
        self.partitions = sorted(set(wanted))
        self._held: set[int] = set()
        self._lock = threading.Lock()
        self._postgres = connections[alias].vendor == "postgresql"
        self._database = str(connections[alias].settings_dict["NAME"])
        self._sessions: list[psycopg.Connection] = []  # the lease session, once connected
        weakref.finalize(self, _finish, self._database, id(self), self._sessions)

    @property
    def held(self) -> set[int]:
        return set(self._held)

    def acquire(self, most: int | None = None) -> set[int]:
        """Take free partitions until this member holds ``most`` (all it can when None);
        return the partitions it holds now."""
        with self._lock:
            if self._postgres:
                self._acquire_postgres(most)
            else:
                self._acquire_local(most)
            return set(self._held)

    def release(self) -> None:
        """Give every partition back (and close the lease connection)."""
        with self._lock:
            self._drop_session()

    close = release

    def __enter__(self) -> PartitionLeases:
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def _acquire_postgres(self, most: int | None) -> None:
        try:
            self._try_locks(most)
        except psycopg.OperationalError:
            self._drop_session()  # its locks went with it: start again on a new one
            self._try_locks(most)

    def _try_locks(self, most: int | None) -> None:
        session = self._connect()
        candidates = [p for p in self.partitions if p not in self._held]
        if not candidates or (most is not None and len(self._held) >= most):
            session.execute("SELECT 1")  # a lost session lost its leases: find out now
        while candidates:
            room = len(candidates) if most is None else most - len(self._held)
            if room <= 0:
                return
            batch, candidates = candidates[:room], candidates[room:]
            keys = {lease_key(self.stream, self.group, p): p for p in batch}
            rows = session.execute(
                "SELECT k FROM unnest(%s::bigint[]) AS k WHERE pg_try_advisory_lock(k)",
                [list(keys)],
            ).fetchall()
            self._held |= {keys[k] for (k,) in rows}

    def _connect(self) -> psycopg.Connection:
        if not self._sessions or self._sessions[0].closed:
            self._drop_session()
            params = connections[self.alias].get_connection_params()
            self._sessions.append(psycopg.connect(**params, autocommit=True))
        return self._sessions[0]

    def _drop_session(self) -> None:
        _finish(self._database, id(self), self._sessions)
        self._held.clear()

    def _acquire_local(self, most: int | None) -> None:
        with _registry_lock:
            for partition in self.partitions:
                if most is not None and len(self._held) >= most:
                    return
                slot = (self._database, self.stream, self.group, partition)
                if _registry.setdefault(slot, id(self)) == id(self):
                    self._held.add(partition)


def _finish(database: str, owner: int, sessions: list[psycopg.Connection]) -> None:
    """Free every lease of ``owner`` (also when it is garbage-collected): close its session
    (its advisory locks go with it) and forget its in-process leases."""
    while sessions:
        session = sessions.pop()
        # unlock first: the server frees a closed session's locks only once it has seen the
        # close, and a member taking the partitions right after must find them free
        with contextlib.suppress(psycopg.Error):
            session.execute("SELECT pg_advisory_unlock_all()")
        session.close()
    with _registry_lock:
        for slot in [s for s, o in _registry.items() if s[0] == database and o == owner]:
            del _registry[slot]
