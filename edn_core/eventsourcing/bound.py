"""The read bound of decision 0068 on PostgreSQL: projections read the events whose ordering
key is below it, and so never read past an event a running transaction may still commit."""

from __future__ import annotations

__all__ = ["read_bound"]


def read_bound(connection) -> int | None:
    """The ordering key below which every transaction that may write this database, other
    than the reader's own, has ended (``xmin`` of decision 0068); None on a backend with one
    writer at a time.

    Transactions of other databases on the server are not waited for (their ids are listed
    in ``pg_stat_activity`` with their database; they never write here). The reader's own
    transaction may have appended (a test's; an inline projection): its rows are read too when
    no older transaction can still write here, with the bound just above its id -- they
    commit or roll back with the checkpoint (decision 0068, last section)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(_ELSEWHERE)
        cursor.execute(_SNAPSHOT)
        snapshot, own, elsewhere = cursor.fetchone()
    _, xmax, running = snapshot.split(":")
    xmax, ignored = int(xmax), {int(x) % 2**32 for x in elsewhere}
    running = [x for x in map(int, filter(None, running.split(","))) if x % 2**32 not in ignored]
    if own is None:
        return min(running, default=xmax)
    own = int(own)
    between = range(xmax, own) if own - xmax <= 1000 else [xmax]  # not ended, maybe here
    older = [x for x in running if x < own] + [x for x in between if x % 2**32 not in ignored]
    return min(older, default=own + 1)


_ELSEWHERE = "SELECT pg_stat_clear_snapshot()"  # pg_stat_activity as it is now
_SNAPSHOT = (
    "SELECT pg_current_snapshot()::text, pg_current_xact_id_if_assigned()::text, "
    "ARRAY(SELECT backend_xid::text FROM pg_stat_activity WHERE datname IS NOT NULL "
    "AND datname <> current_database() AND backend_xid IS NOT NULL)"
)
