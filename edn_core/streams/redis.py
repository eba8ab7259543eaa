"""Streams over Redis Streams (``RedisLog``): one Redis stream per partition.

Keys, under the instance's ``prefix`` (the stream's name in braces, so that a cluster keeps a
stream's keys in one slot):

- ``<prefix>streams``: a hash, stream name -> partition count (the definitions);
- ``<prefix>{<stream>}:<partition>``: the Redis stream of one partition; an entry's fields are
  ``k`` (its key), ``v`` (its value as JSON), ``h`` (its headers as JSON, when it has any)
  and ``i`` (its id, when it has one);
- ``<prefix>{<stream>}:committed``: a hash, ``<partition>:<group>`` -> the committed Redis id;
- ``<prefix>{<stream>}:id:<entry id>``: ``<partition>:<Redis id>`` of the entry appended with
  that id (field ``i``), expiring after the log's dedup window (``redis_scripts.APPEND``).

Offsets are Redis ids read as integers (``redis_ids``), ``appended_at`` is the id's
millisecond (the server's clock), ``offset_at`` and ``trim`` (``XTRIM MINID``) work on it.
Groups are Redis consumer groups, one per partition key (see ``redis_groups``). Durability is
the server's: configure its append-only file (``appendfsync``) as the deployment requires.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import redis

from edn_core.streams.port import (
    DEDUP_WINDOW,
    Entry,
    NewEntry,
    StreamInfo,
    UnknownStream,
    partition_of,
)
from edn_core.streams.redis_groups import RedisGroups, missing_as
from edn_core.streams.redis_ids import appended_at, id_of, ms_after, offset_of
from edn_core.streams.redis_scripts import APPEND

__all__ = ["RedisLog"]


class RedisLog(RedisGroups):
    """The streams port on a Redis server (7.0 or later) at ``url``, its keys under ``prefix``.
    Give ``client`` to share a ``redis.Redis`` (it must decode responses). Entry ids are
    remembered for ``dedup_window``."""

    name = "redis"

    def __init__(
        self,
        url: str = "",
        *,
        prefix: str = "edn:streams:",
        client: redis.Redis | None = None,
        dedup_window: timedelta = DEDUP_WINDOW,
    ) -> None:
        self.redis = client or redis.Redis.from_url(url, decode_responses=True)
        self.prefix = prefix
        self.dedup_ms = max(int(dedup_window / timedelta(milliseconds=1)), 1)
        self._append = self.redis.register_script(APPEND)
        self._definitions = f"{prefix}streams"
        self._shapes: dict[str, int] = {}
        super().__init__()

    def key(self, stream: str, partition: int | str) -> str:
        """The Redis key of ``partition`` of ``stream`` (or of its ``committed`` hash)."""
        return f"{self.prefix}{{{stream}}}:{partition}"

    def shape(self, stream: str) -> int:
        """The stream's partition count (never changes, so kept once seen)."""
        partitions = self._shapes.get(stream)
        if partitions is None:
            found = self.redis.hget(self._definitions, stream)
            if found is None:
                raise UnknownStream(stream)
            partitions = self._shapes[stream] = int(found)
        return partitions

    def owned(self, stream: str, partitions: Iterable[int]) -> list[int]:
        """``partitions`` sorted, each checked against the stream's shape."""
        count = self.shape(stream)
        chosen = sorted(set(partitions))
        if any(not 0 <= partition < count for partition in chosen):
            raise ValueError(f"stream {stream!r} has partitions 0..{count - 1}: {chosen}")
        return chosen

    def entry(self, stream: str, partition: int, entry_id: str, fields: dict) -> Entry:
        """An ``Entry`` from a Redis stream entry."""
        headers = fields.get("h")
        return Entry(
            stream=stream,
            partition=partition,
            offset=offset_of(entry_id),
            key=fields["k"],
            value=json.loads(fields["v"]),
            headers=json.loads(headers) if headers else {},
            appended_at=appended_at(entry_id),
            id=fields.get("i"),
        )

    def ensure(self, stream: str, partitions: int) -> None:
        if partitions < 1:
            raise ValueError(f"a stream has at least one partition, not {partitions}")
        self.redis.hsetnx(self._definitions, stream, partitions)
        if (existing := self.shape(stream)) != partitions:
            raise ValueError(f"stream {stream!r} has {existing} partitions, not {partitions}")

    def info(self, stream: str) -> StreamInfo:
        count = self.shape(stream)
        pipe = self.redis.pipeline(transaction=False)
        for partition in range(count):
            pipe.xinfo_stream(self.key(stream, partition))
        # a partition never written has no key yet: the reply is an error
        found = missing_as(pipe.execute(raise_on_error=False), {})
        return StreamInfo(
            name=stream,
            partitions=count,
            last_offsets={
                p: offset_of(f.get("last-generated-id", "0-0")) for p, f in enumerate(found)
            },
            lengths={p: f.get("length", 0) for p, f in enumerate(found)},
        )

    def streams(self) -> list[str]:
        return sorted(self.redis.hkeys(self._definitions))

    def append(self, stream: str, entries: Sequence[NewEntry]) -> list[tuple[int, int]]:
        count = self.shape(stream)
        if not entries:
            return []
        base = self.key(stream, "")
        dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
        pipe = self.redis.pipeline(transaction=False)
        places = []
        for new in entries:
            partition = partition_of(new.key, count)
            places.append(partition)
            fields = ["k", new.key, "v", dumps(new.value)]
            if new.headers:
                fields += ["h", dumps(new.headers)]
            if new.id is None:
                pipe.execute_command("XADD", f"{base}{partition}", "*", *fields)
            else:  # added unless the id is held; "<partition>:<Redis id>" of its entry
                keys = [f"{base}{partition}", f"{base}id:{new.id}"]
                args = [self.dedup_ms, partition, *fields, "i", new.id]
                self._append(keys=keys, args=args, client=pipe)
        positions = []
        for partition, reply in zip(places, pipe.execute(), strict=True):
            held_in, _, entry_id = reply.rpartition(":")  # a plain XADD: the Redis id
            positions.append((int(held_in or partition), offset_of(entry_id)))
        return positions

    def read(self, stream: str, partition: int, after: int, limit: int) -> list[Entry]:
        (partition,) = self.owned(stream, [partition])
        if limit <= 0:
            return []
        start = f"({id_of(after)}" if after > 0 else "-"
        found = self.redis.xrange(self.key(stream, partition), min=start, count=limit)
        return [self.entry(stream, partition, i, fields) for i, fields in found]

    def offset_at(self, stream: str, partition: int, when: datetime) -> int:
        (partition,) = self.owned(stream, [partition])
        last_ms = ms_after(when) - 1
        if last_ms < 0:
            return 0
        found = self.redis.xrevrange(self.key(stream, partition), max=str(last_ms), count=1)
        return offset_of(found[0][0]) if found else 0

    def trim(self, stream: str, *, before: datetime) -> int:
        count = self.shape(stream)
        first_kept = f"{ms_after(before)}-0"
        pipe = self.redis.pipeline(transaction=False)
        for partition in range(count):
            pipe.xtrim(self.key(stream, partition), minid=first_kept, approximate=False)
        return sum(pipe.execute())

    def close(self) -> None:
        self.redis.close()
