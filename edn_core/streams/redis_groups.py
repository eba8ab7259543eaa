"""Consumer groups of the Redis adapter (``RedisLog`` inherits them).

A port group is a Redis consumer group of the same name on every partition's stream, created
at id ``0-0`` on first use. Its committed offset per partition is kept beside it, in the
stream's ``committed`` hash, and moved by one script (``redis_scripts.COMMIT``) that also
acknowledges the entries up to it: so the pending list only ever holds entries after the
committed offset, and the group's last-delivered id is never behind it.

``consume`` claims the partitions' pending entries from whichever consumer holds them
(``XAUTOCLAIM``, no minimum idle time: the caller owns the partition), then reads new ones
(``XREADGROUP >``) only for the room left, split exactly between the partitions: nothing read
is left pending beyond what the caller got. ``reset`` recreates the group in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

import redis

from edn_core.streams.port import Entry, StreamLog
from edn_core.streams.redis_ids import id_of, offset_of
from edn_core.streams.redis_scripts import COMMIT

__all__ = ["RedisGroups", "missing_as"]

T = TypeVar("T")


def missing_as(replies: list, default: object) -> list:
    """Pipeline ``replies`` with ``default`` in place of the errors of a partition whose key
    does not exist yet (nothing was appended and no group made there); other errors raise."""
    for reply in replies:
        missing = any(m in str(reply).lower() for m in ("no such key", "requires the key"))
        if isinstance(reply, redis.ResponseError) and not missing:
            raise reply
    return [default if isinstance(reply, redis.ResponseError) else reply for reply in replies]


class RedisGroups(StreamLog):
    """The consumer-group half of ``RedisLog``."""

    redis: redis.Redis
    key: Callable[[str, int | str], str]
    shape: Callable[[str], int]
    owned: Callable[[str, Iterable[int]], list[int]]
    entry: Callable[[str, int, str, dict], Entry]

    def __init__(self) -> None:
        self._groups: set[tuple[str, str]] = set()
        self._turn = 0  # which partitions get the remainder of a consume's limit
        self._commit = self.redis.register_script(COMMIT)

    def _create(self, stream: str, group: str) -> None:
        """Make the group exist on every partition (it starts at offset 0)."""
        pipe = self.redis.pipeline(transaction=False)
        for partition in range(self.shape(stream)):
            pipe.xgroup_create(self.key(stream, partition), group, "0", mkstream=True)
        for reply in pipe.execute(raise_on_error=False):
            if isinstance(reply, Exception) and "BUSYGROUP" not in str(reply):
                raise reply
        self._groups.add((stream, group))

    def _with_group(self, stream: str, group: str, action: Callable[[], T]) -> T:
        """Run ``action`` once the group exists (again, if it was deleted meanwhile)."""
        if (stream, group) not in self._groups:
            self._create(stream, group)
        try:
            return action()
        except redis.ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
        self._create(stream, group)
        return action()

    def groups(self, stream: str) -> list[str]:
        pipe = self.redis.pipeline(transaction=False)
        for partition in range(self.shape(stream)):
            pipe.xinfo_groups(self.key(stream, partition))
        replies = missing_as(pipe.execute(raise_on_error=False), [])
        names = {g["name"] for reply in replies for g in reply}
        return sorted(names)

    def committed(self, stream: str, group: str) -> dict[int, int]:
        count = self.shape(stream)
        fields = [f"{partition}:{group}" for partition in range(count)]
        found = self.redis.hmget(self.key(stream, "committed"), fields)
        return {p: offset_of(value) if value else 0 for p, value in enumerate(found)}

    def consume(
        self, stream: str, group: str, consumer: str, partitions: Iterable[int], limit: int
    ) -> list[Entry]:
        owned = self.owned(stream, partitions)
        if limit <= 0 or not owned:
            return []
        return self._with_group(
            stream, group, lambda: self._consume(stream, group, consumer, owned, limit)
        )

    def _consume(
        self, stream: str, group: str, consumer: str, owned: list[int], limit: int
    ) -> list[Entry]:
        keys = {self.key(stream, partition): partition for partition in owned}
        pipe = self.redis.pipeline(transaction=False)
        for key in keys:
            pipe.xautoclaim(key, group, consumer, 0, "0-0", count=limit)
        found = {
            key: self._claimed(key, group, consumer, claim, limit)
            for key, claim in zip(keys, pipe.execute(), strict=True)
        }
        room, wanted = limit - sum(map(len, found.values())), list(keys)
        while room > 0 and wanted:
            counts, replies, wanted = self._read_new(group, consumer, wanted, room, found)
            for key, items in replies:
                found[key] += items
                room -= len(items)
                wanted += [key] if len(items) == counts[key] else []
        return self._fair(stream, keys, found, limit)

    def _read_new(self, group: str, consumer: str, keys: list, room: int, found: dict) -> tuple:
        """``room`` new entries split exactly between ``keys`` (the remainder to those with
        fewest so far, then in turn): the counts asked, the replies, the keys not asked."""
        base, extra = divmod(room, len(keys))
        self._turn = turn = (self._turn + 1) % len(keys)
        order = sorted(keys[turn:] + keys[:turn], key=lambda key: len(found[key]))
        counts, by_count = {}, {}  # key -> count; count -> {key: ">"}
        for n, key in enumerate(order[:room]):
            counts[key] = count = base + (n < extra)
            by_count.setdefault(count, {})[key] = ">"
        pipe = self.redis.pipeline(transaction=False)
        for count, streams in by_count.items():
            pipe.xreadgroup(group, consumer, streams, count=count)
        return counts, [pair for reply in pipe.execute() for pair in reply or []], order[room:]

    def _claimed(self, key: str, group: str, consumer: str, claim: list, limit: int) -> list:
        """The pending entries of one partition, claimed (continuing past trimmed ones)."""
        cursor, items = claim[0], list(claim[1])
        while cursor != "0-0" and len(items) < limit:
            cursor, more, _ = self.redis.xautoclaim(
                key, group, consumer, 0, cursor, count=limit - len(items)
            )
            items += more
        return items

    def _fair(
        self, stream: str, keys: dict[str, int], found: dict[str, list], limit: int
    ) -> list[Entry]:
        """Up to ``limit`` entries, as many from each partition as the others leave room for,
        each partition's a prefix of what was found (in Redis order), partition by partition."""
        taken, left = dict.fromkeys(keys, 0), limit
        active = [key for key in keys if found[key]]
        while left and active:
            share = max(left // len(active), 1)
            for key in active:
                more = min(share, len(found[key]) - taken[key], left)
                taken[key] += more
                left -= more
            active = [key for key in active if taken[key] < len(found[key])]
        return [
            self.entry(stream, partition, entry_id, fields)
            for key, partition in keys.items()
            for entry_id, fields in found[key][: taken[key]]
        ]

    def commit(self, stream: str, group: str, offsets: Mapping[int, int]) -> None:
        chosen = {p: offsets[p] for p in self.owned(stream, offsets) if offsets[p] > 0}
        if chosen:
            self._with_group(stream, group, lambda: self._commit_all(stream, group, chosen))

    def _commit_all(self, stream: str, group: str, offsets: Mapping[int, int]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        hash_key = self.key(stream, "committed")
        for partition, offset in offsets.items():
            keys = [self.key(stream, partition), hash_key]
            self._commit(
                keys=keys, args=[group, f"{partition}:{group}", id_of(offset)], client=pipe
            )
        pipe.execute()

    def reset(self, stream: str, group: str, offsets: Mapping[int, int]) -> None:
        chosen = self.owned(stream, offsets)
        if (stream, group) not in self._groups:
            self._create(stream, group)
        pipe = self.redis.pipeline(transaction=True)
        for partition in chosen:
            key, target = self.key(stream, partition), id_of(offsets[partition])
            pipe.xgroup_destroy(key, group)
            pipe.xgroup_create(key, group, target, mkstream=True)
            pipe.hset(self.key(stream, "committed"), f"{partition}:{group}", target)
        pipe.execute()

    def delete_group(self, stream: str, group: str) -> None:
        count = self.shape(stream)
        pipe = self.redis.pipeline(transaction=False)
        for partition in range(count):
            pipe.xgroup_destroy(self.key(stream, partition), group)
        pipe.hdel(self.key(stream, "committed"), *(f"{p}:{group}" for p in range(count)))
        missing_as(pipe.execute(raise_on_error=False), 0)
        self._groups.discard((stream, group))
