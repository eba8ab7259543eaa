"""Consumer groups of the NATS JetStream stream log (``edn_core.streams.nats``).

A group reads each partition (a JetStream stream) through a durable pull consumer with
``ack_policy=all`` (``nats_consumers.Durable``): acknowledging the message of offset ``n``
acknowledges every earlier one, which is what committing ``n`` means, so a commit is one
acknowledgement per partition, and the committed offset is the consumer's ack floor.

Redelivery never waits for ``ack_wait``: ``consume`` looks at the partition's consumer first
and, if it has deliveries not acknowledged (its owner died or restarted, another consumer
took the partition over, or the same one asks again without committing), starts the next
generation of the consumer right after the committed offset, so the entries after it come
again at once and in order. ``reset``, and a commit of an offset that was not delivered
through this log, start a generation the same way. Fetches never wait (``no_wait``). Each
``consume`` looks at its partitions' consumers first (one ``CONSUMER.LIST`` per partition).
A ``trim`` that removes entries a group has not committed moves its committed offset up to
the last removed one (the server moves a consumer's ack floor past a purge).
"""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import nats

from edn_core.streams.nats_codec import entry_of
from edn_core.streams.nats_consumers import Durable, NatsConsumers
from edn_core.streams.port import Entry

__all__ = ["NatsGroups"]


@dataclass(slots=True)
class Delivered:
    """What this log delivered of a partition of a group since its consumer was last looked
    at: the offsets and their ack subjects, so that a commit acknowledges the right message."""

    consumer: str
    offsets: list[int] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    acknowledged: int = 0


class NatsGroups(NatsConsumers):
    """The consumer-group half of ``NatsLog``."""

    def __init__(self) -> None:
        super().__init__()
        self._delivered: dict[tuple[str, str, int], Delivered] = {}
        self._turn = 0

    def groups(self, stream: str) -> list[str]:
        return self.connection.run(self._groups(stream))

    def committed(self, stream: str, group: str) -> dict[int, int]:
        return self.connection.run(self._committed(stream, group))

    def consume(
        self, stream: str, group: str, consumer: str, partitions: Iterable[int], limit: int
    ) -> list[Entry]:
        """(NATS consumers are per partition: the caller's ``consumer`` name is not sent.)"""
        owned = list(dict.fromkeys(partitions))
        return self.connection.run(self._consume(stream, group, owned, limit))

    def commit(self, stream: str, group: str, offsets: Mapping[int, int]) -> None:
        self.connection.run(self._commit(stream, group, dict(offsets)))

    def reset(self, stream: str, group: str, offsets: Mapping[int, int]) -> None:
        self.connection.run(self._reset(stream, group, dict(offsets)))

    def delete_group(self, stream: str, group: str) -> None:
        self.connection.run(self._delete_group(stream, group))

    # on the loop

    async def _groups(self, stream: str) -> list[str]:
        partitions = range(await self.shape(stream))
        found = await asyncio.gather(*(self.consumers(stream, p) for p in partitions))
        return sorted({durable.group for durables in found for durable in durables})

    async def _committed(self, stream: str, group: str) -> dict[int, int]:
        partitions = range(await self.shape(stream))
        current = await asyncio.gather(*(self.current(stream, group, p) for p in partitions))
        return {p: durable.committed if durable else 0 for p, durable in enumerate(current)}

    async def _move(self, stream: str, group: str, p: int, old: Durable | None, after: int):
        self._delivered.pop((stream, group, p), None)
        return await self.start(stream, group, p, old, after)

    async def _ready(self, stream: str, group: str, p: int) -> Durable:
        """The partition's consumer, with nothing delivered and not acknowledged."""
        durable = await self.current(stream, group, p)
        if durable is None:
            return await self._move(stream, group, p, None, 0)
        if durable.pending:  # delivered, not committed: again from the committed offset
            return await self._move(stream, group, p, durable, durable.committed)
        return durable

    async def _consume(self, stream: str, group: str, owned: list[int], limit: int) -> list[Entry]:
        await self.shape(stream)
        if limit <= 0 or not owned:
            return []
        durables = await asyncio.gather(*(self._ready(stream, group, p) for p in owned))
        # a share of the limit each (the remainder goes round), then what is left of it to
        # the partitions that filled their share, in turn
        count, self._turn = len(owned), self._turn + 1
        shares = [limit // count + ((i - self._turn) % count < limit % count) for i in range(count)]
        names = [self.stream_name(stream, p) for p in owned]
        fetch = self.connection.fetch
        pulls = [fetch(n, d.name, s) for n, d, s in zip(names, durables, shares, strict=True)]
        fetched = list(await asyncio.gather(*pulls))
        budget = limit - sum(map(len, fetched))
        for i, durable in enumerate(durables):
            if budget > 0 and len(fetched[i]) == shares[i]:
                more = await fetch(names[i], durable.name, budget)
                fetched[i] += more
                budget -= len(more)
        entries: list[Entry] = []
        for p, durable, msgs in zip(owned, durables, fetched, strict=True):
            batch = [entry_of(stream, p, msg) for msg in msgs]
            offsets, replies = [e.offset for e in batch], [msg.reply for msg in msgs]
            self._delivered[(stream, group, p)] = Delivered(durable.name, offsets, replies)
            entries += batch
        return entries

    async def _acknowledge(self, stream: str, group: str, p: int, offset: int) -> bool:
        """Acknowledge what this log delivered up to ``offset``; False if that is not all it
        takes (nothing delivered here, the consumer gone, ``offset`` beyond the deliveries)."""
        delivered = self._delivered.get((stream, group, p))
        if delivered is not None and offset <= delivered.acknowledged:
            return True
        if delivered is None or not delivered.offsets or offset > delivered.offsets[-1]:
            return False
        last = bisect_right(delivered.offsets, offset) - 1
        if last < 0:
            return True  # not beyond the committed offset
        try:
            reply, timeout = delivered.replies[last], self.connection.timeout
            await self.connection.nc.request(reply, b"+ACK", timeout=timeout)
        except nats.errors.NoRespondersError:  # another owner started a new generation
            self._delivered.pop((stream, group, p), None)
            return False
        delivered.acknowledged = delivered.offsets[last]
        del delivered.offsets[: last + 1], delivered.replies[: last + 1]
        return True

    async def _commit_one(self, stream: str, group: str, p: int, offset: int) -> None:
        if not await self._acknowledge(stream, group, p, offset):
            durable = await self.current(stream, group, p)
            if durable is None or offset > durable.committed:
                await self._move(stream, group, p, durable, offset)

    async def _commit(self, stream: str, group: str, offsets: dict[int, int]) -> None:
        await self.shape(stream)
        commits = [self._commit_one(stream, group, p, n) for p, n in offsets.items()]
        await asyncio.gather(*commits)

    async def _reset_one(self, stream: str, group: str, p: int, offset: int) -> None:
        await self._move(stream, group, p, await self.current(stream, group, p), offset)

    async def _reset(self, stream: str, group: str, offsets: dict[int, int]) -> None:
        await self.shape(stream)
        await asyncio.gather(*(self._reset_one(stream, group, p, n) for p, n in offsets.items()))

    async def _delete_group(self, stream: str, group: str) -> None:
        for key in [key for key in self._delivered if key[:2] == (stream, group)]:
            del self._delivered[key]
        for p in range(await self.shape(stream)):
            for durable in await self.consumers(stream, p):
                if durable.group == group:
                    await self.drop(stream, p, durable.name)
