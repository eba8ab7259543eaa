"""The read bound of decision 0068 on PostgreSQL: projections read the events whose ordering
key is below it, and so never read past an event a running transaction may still commit.

It is the ``xmin`` of the decision, refined (decision 0068, last section): the smallest
transaction id still running *on this database* -- sessions of ``pg_stat_activity`` and
prepared transactions, read after the snapshot that gives the cap and before the statement
that reads the events (read committed: a transaction that ended in between is visible to it).
Transaction ids are server-wide, so other databases' transactions (a long report elsewhere; a
test's transactions on the other aliases) would otherwise hold every projection back.

The reader's own transaction may have appended (a test; an inline projection): its rows are
read when nothing older still runs here, with the bound just above its id -- they commit or
roll back together with the checkpoint, and its later appends sort after them.
"""

from __future__ import annotations

__all__ = ["read_bound"]

_RUNNING_HERE = """
SELECT pg_snapshot_xmax(pg_current_snapshot())::text,
       pg_current_xact_id_if_assigned()::text,
       ARRAY(SELECT backend_xid::text FROM pg_stat_activity
             WHERE datname = current_database() AND backend_xid IS NOT NULL
               AND pid <> pg_backend_pid()
             UNION ALL
             SELECT transaction::text FROM pg_prepared_xacts
             WHERE database = current_database())
"""
_WRAP = 2**32  # pg_stat_activity shows 32-bit ids; keys are 64-bit (epoch and id)


def read_bound(connection) -> int | None:
    """The ordering key below which every transaction that may write this database, other
    than the reader's own, has ended; None on a backend with one writer at a time."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # pg_stat_activity as it is now
        cursor.execute(_RUNNING_HERE)
        xmax, own, running = cursor.fetchone()
    cap = int(own) + 1 if own is not None else int(xmax)
    return min((_widen(int(x), cap) for x in running), default=cap)


def _widen(xid: int, near: int) -> int:
    """The 64-bit id of the 32-bit ``xid`` of a transaction running now (within 2^31 of
    ``near``, the newest id this reader knows of)."""
    full = (near & ~(_WRAP - 1)) | xid
    if full > near + _WRAP // 2:
        return full - _WRAP
    return full + _WRAP if full < near - _WRAP // 2 else full
