"""Consumer groups of the database stream log (``edn_core.streams.database``).

A group is its committed offsets: one row per partition it ever committed or was reset to, in
the app's ``StreamGroupOffsetBase`` table. The database log needs no delivery state: ``consume``
returns the entries after the committed offsets, so entries delivered and not committed go
again to whoever reads the partition next (the same consumer after a restart, or another one
taking the partition over, at once). ``commit`` and ``reset`` are one upsert each, in the
caller's transaction when one is open: a processor's state and its offsets commit together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import connections
from django.utils import timezone

from edn_core.streams.port import Entry

__all__ = ["DatabaseGroups"]

COLUMNS = ("stream", "group", "partition", "offset", "updated_at")


class DatabaseGroups:
    """The group half of ``DatabaseLog`` (which provides ``offsets``, ``read``, ``_partitions``,
    ``_turns`` and ``alias``)."""

    def groups(self, stream: str) -> list[str]:
        names = self.offsets.filter(stream=stream).order_by("group").distinct()
        return list(names.values_list("group", flat=True))

    def committed(self, stream: str, group: str) -> dict[int, int]:
        partitions = self._partitions(stream)
        rows = self.offsets.filter(stream=stream, group=group)
        done = dict(rows.values_list("partition", "offset"))
        return {p: done.get(p, 0) for p in range(partitions)}

    def consume(
        self, stream: str, group: str, consumer: str, partitions: Iterable[int], limit: int
    ) -> list[Entry]:
        """The entries after the group's committed offsets, whoever had them before. The
        partition read first turns from call to call, so one with a long backlog does not
        starve the others; each partition's entries are a prefix of what it has left."""
        owned = sorted(set(partitions))
        if not owned or limit <= 0:
            return []
        done, start = self.committed(stream, group), next(self._turns) % len(owned)
        batch: list[Entry] = []
        for partition in owned[start:] + owned[:start]:
            batch += self.read(stream, partition, done[partition], limit - len(batch))
            if len(batch) >= limit:
                break
        return batch

    def commit(self, stream: str, group: str, offsets: Mapping[int, int]) -> None:
        self._upsert(stream, group, offsets, forward_only=True)

    def reset(self, stream: str, group: str, offsets: Mapping[int, int]) -> None:
        self._upsert(stream, group, offsets, forward_only=False)

    def delete_group(self, stream: str, group: str) -> None:
        self.offsets.filter(stream=stream, group=group).delete()

    def _upsert(
        self, stream: str, group: str, offsets: Mapping[int, int], forward_only: bool
    ) -> None:
        """One ``INSERT … ON CONFLICT … DO UPDATE`` (PostgreSQL, SQLite 3.24+); a commit moves
        an offset only forward, a reset anywhere."""
        partitions = self._partitions(stream)
        if any(not 0 <= p < partitions for p in offsets):
            raise ValueError(f"stream {stream} has partitions 0 to {partitions - 1}: {offsets}")
        if not offsets:
            return
        connection = connections[self.alias]
        meta, quote = self.offsets.model._meta, connection.ops.quote_name
        table = quote(meta.db_table)
        columns = [quote(meta.get_field(name).column) for name in COLUMNS]
        stream_, group_, partition_, offset_, updated_ = columns
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        params = [v for p, o in sorted(offsets.items()) for v in (stream, group, p, o, now)]
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
            + ", ".join(["(%s, %s, %s, %s, %s)"] * len(offsets))
            + f" ON CONFLICT ({stream_}, {group_}, {partition_}) DO UPDATE SET "
            f"{offset_} = EXCLUDED.{offset_}, {updated_} = EXCLUDED.{updated_}"
        )
        if forward_only:
            sql += f" WHERE {table}.{offset_} < EXCLUDED.{offset_}"
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
