"""The members of a processor's consumer group and their fair share of its partitions.

On PostgreSQL each member holds one *member slot*: an advisory lock among the keys
``lease_key(stream, group + "\\x1fmembers", i)``, taken like a partition lease (on its own
session, so it goes when the member dies). The members are the granted slots seen in
``pg_locks``; a member's share is ``ceil(partitions / members)``. Each round a member takes
free partitions up to its share; one that holds more than its share (a member joined) gives
them all back and takes its share again, so the newcomer finds some free. When a member dies
its slot and its partitions go with its session: the others' shares grow and they take the
partitions over. Elsewhere (SQLite: one process) there is one member, which takes them all.
"""

from __future__ import annotations

import math

from django.db import connections

from edn_core.streams.leases import PartitionLeases, lease_key

__all__ = ["Members", "leases_for"]

MEMBERS = "\x1fmembers"
GRANTED = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND ((classid::bigint << 32) | objid::bigint) = ANY(%s)"
)


def leases_for(processor, log) -> PartitionLeases:
    """The leases of ``processor``'s group on its alias (its stream created if it declares
    a partition count and does not exist yet)."""
    if processor.partitions is not None:
        log.ensure(processor.stream, processor.partitions)
    count = log.info(processor.stream).partitions
    return PartitionLeases(processor.alias, processor.stream, processor.group, count)


class Members:
    """Fair sharing for the member that holds ``leases`` (a ``PartitionLeases``)."""

    def __init__(self, leases: PartitionLeases) -> None:
        self.leases = leases
        self.partitions = len(leases.partitions)
        self.sharing = isinstance(leases, PartitionLeases) and leases._postgres
        self.slot = None
        if self.sharing:
            group = leases.group + MEMBERS
            self.slot = PartitionLeases(leases.alias, leases.stream, group, self.partitions)
            self.keys = [lease_key(leases.stream, group, i) for i in range(self.partitions)]

    def count(self) -> int:
        """How many members hold a slot now (this one included, once it has one)."""
        if not self.sharing:
            return 1
        self.slot.acquire(most=1)
        with connections[self.leases.alias].cursor() as cursor:
            cursor.execute(GRANTED, [self.keys])
            return max(cursor.fetchone()[0], 1)

    def share(self) -> int | None:
        """The most partitions this member should hold (None: all)."""
        if not self.sharing:
            return None
        return math.ceil(self.partitions / self.count())

    def acquire(self) -> set[int]:
        """Take partitions up to the share (giving back all first when holding more)."""
        most = self.share()
        if most is not None and len(self.leases.held) > most:
            self.leases.release()
        return self.leases.acquire(most)

    def release(self) -> None:
        self.leases.release()
        if self.slot is not None:
            self.slot.release()
