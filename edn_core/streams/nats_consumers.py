"""The base of the NATS JetStream stream log (``edn_core.streams.nats``): its connection, its
names, the streams' partition counts, and the JetStream consumers it reads through.

Each partition is a JetStream stream of its own, ``<prefix>_<name>_<partition>``, with one
subject, ``<prefix>.<name>.<partition>``, so no consumer needs a subject filter: on NATS 2.9 a
filtered consumer slows down for good once its state is asked for (``CONSUMER.INFO`` or
``LIST``, which groups and lag need): measured on 2.9.10, a fetch of 125 messages went from
3 ms to 25-60 ms, growing with the consumer's position, where an unfiltered one stays at 3 ms.

A group reads a partition through a durable pull consumer named ``g_<group>_<generation>``
(``Durable``); a read pulls through an ephemeral consumer, deleted afterwards (or by the
server a minute after it was last used, if the reader died). NATS 2.9 cannot move a consumer
(no reset API; a consumer's start sequence cannot be updated), so moving a group's partition is
**starting the next generation** of its consumer where it must start, then deleting the old
one: created before the old one is deleted, so a crash in between leaves both, and the newest
generation wins (the next look at the partition deletes the other).
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any

from nats.aio.msg import Msg

from edn_core.streams.nats_client import (
    CONSUMER_NOT_FOUND,
    STREAM_NOT_FOUND,
    Connection,
    JetStreamError,
)
from edn_core.streams.nats_codec import token, untoken
from edn_core.streams.port import StreamLog, UnknownStream

__all__ = ["Durable", "NatsConsumers", "partitions_of"]

_NAME = re.compile(r"g_([A-Za-z0-9_-]*)_(\d+)")
_ACK_WAIT = 3600 * 10**9  # never relied on: redelivery is by a new generation (nats_groups)
_READER_IDLE = 60 * 10**9


@dataclass(frozen=True, slots=True)
class Durable:
    """A group's consumer of one partition as the server reported it: ``committed`` is its
    ack floor, or the offset it was started after if it acknowledged nothing since."""

    name: str
    group: str
    generation: int
    committed: int
    pending: int = 0  # delivered, not acknowledged

    @classmethod
    def of(cls, info: dict[str, Any]) -> Durable | None:
        """The group consumer ``info`` describes; None for another consumer (a read's)."""
        match = _NAME.fullmatch(info["name"])
        if match is None:
            return None
        started = info["config"].get("opt_start_seq") or 1
        committed = max(info["ack_floor"]["stream_seq"], started - 1)
        pending = info["num_ack_pending"]
        return cls(info["name"], untoken(match[1]), int(match[2]), committed, pending)


def partitions_of(info: dict[str, Any]) -> int:
    """The partition count in the description of a partition's JetStream stream."""
    return json.loads(info["config"]["description"])["partitions"]


class NatsConsumers(StreamLog):
    """Names, partition counts and consumers (``NatsLog`` sets ``connection`` and ``prefix``)."""

    connection: Connection
    prefix: str

    def __init__(self) -> None:
        self._shapes: dict[str, int] = {}

    def stream_name(self, stream: str, partition: int) -> str:
        """The JetStream stream of ``partition`` of ``stream``."""
        return f"{self.prefix}_{token(stream)}_{partition}"

    def subject(self, stream: str, partition: int) -> str:
        """The subject of ``partition`` of ``stream``."""
        return f"{self.prefix}.{token(stream)}.{partition}"

    def stream_of(self, name: str) -> str | None:
        """The stream whose partition 0 is the JetStream stream ``name`` (else None)."""
        start = f"{self.prefix}_"
        if name.startswith(start) and name.endswith("_0"):
            return untoken(name[len(start) : -2])
        return None

    async def shape(self, stream: str) -> int:
        """The stream's partition count, from partition 0's description (never changes, so
        kept once seen; partition 0 is created last, so the stream exists when it does)."""
        partitions = self._shapes.get(stream)
        if partitions is None:
            partitions = self._shapes[stream] = partitions_of(await self.stream_info(stream, 0))
        return partitions

    async def stream_info(self, stream: str, partition: int, **request: Any) -> dict[str, Any]:
        """``STREAM.INFO`` of a partition; ``UnknownStream`` if there is no such stream."""
        try:
            name = self.stream_name(stream, partition)
            return await self.connection.api(f"STREAM.INFO.{name}", request)
        except JetStreamError as error:
            if error.code == STREAM_NOT_FOUND:
                self._shapes.pop(stream, None)
                raise UnknownStream(stream) from error
            raise

    async def consumers(self, stream: str, partition: int) -> list[Durable]:
        """Every group consumer of a partition (``CONSUMER.LIST``, page by page)."""
        name = self.stream_name(stream, partition)
        found: list[Durable] = []
        seen = 0
        while True:
            page = await self.connection.api(f"CONSUMER.LIST.{name}", {"offset": seen})
            infos = page.get("consumers") or []
            seen += len(infos)
            found += [durable for durable in map(Durable.of, infos) if durable]
            if not infos or seen >= page["total"]:
                return found

    async def current(self, stream: str, group: str, partition: int) -> Durable | None:
        """The newest generation of the group's consumer of a partition (older ones are
        deleted), None if the group never read it."""
        mine = [d for d in await self.consumers(stream, partition) if d.group == group]
        mine.sort(key=lambda durable: durable.generation)
        await asyncio.gather(*(self.drop(stream, partition, d.name) for d in mine[:-1]))
        return mine[-1] if mine else None

    async def drop(self, stream: str, partition: int, consumer: str) -> None:
        """Delete a consumer (gone already is fine)."""
        try:
            name = self.stream_name(stream, partition)
            await self.connection.api(f"CONSUMER.DELETE.{name}.{consumer}")
        except JetStreamError as error:
            if error.code not in (CONSUMER_NOT_FOUND, STREAM_NOT_FOUND):
                raise

    async def start(
        self, stream: str, group: str, partition: int, old: Durable | None, after: int
    ) -> Durable:
        """Start the next generation of the group's consumer of a partition after offset
        ``after`` (ack policy ``all``: acknowledging ``n`` acknowledges all before it), then
        delete ``old``."""
        generation = old.generation + 1 if old else 0
        consumer = f"g_{token(group)}_{generation}"
        config = {
            "durable_name": consumer,
            "deliver_policy": "by_start_sequence",
            "opt_start_seq": max(after, 0) + 1,
            "ack_policy": "all",
            "ack_wait": _ACK_WAIT,
            "max_ack_pending": -1,
        }
        name = self.stream_name(stream, partition)
        request = {"stream_name": name, "config": config}
        await self.connection.api(f"CONSUMER.DURABLE.CREATE.{name}.{consumer}", request)
        if old is not None:
            await self.drop(stream, partition, old.name)
        return Durable(consumer, group, generation, max(after, 0))

    async def pull(self, stream: str, partition: int, after: int, limit: int) -> list[Msg]:
        """Up to ``limit`` messages of a partition after offset ``after``, through an
        ephemeral consumer (no acknowledgements) deleted afterwards."""
        name = self.stream_name(stream, partition)
        config = {
            "deliver_policy": "by_start_sequence",
            "opt_start_seq": max(after, 0) + 1,
            "ack_policy": "none",
            "inactive_threshold": _READER_IDLE,
            "mem_storage": True,
        }
        request = {"stream_name": name, "config": config}
        try:
            reader = (await self.connection.api(f"CONSUMER.CREATE.{name}", request))["name"]
        except JetStreamError as error:
            if error.code == STREAM_NOT_FOUND:
                raise UnknownStream(stream) from error
            raise
        try:
            return await self.connection.fetch(name, reader, limit)
        finally:
            await self.drop(stream, partition, reader)
