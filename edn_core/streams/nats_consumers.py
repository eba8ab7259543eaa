"""The base of the NATS JetStream stream log (``edn_core.streams.nats``): its connection, its
names, the streams' partition counts, and the JetStream consumers it works through.

A group reads each partition through a durable pull consumer of the stream, filtered on the
partition's subject and named ``g_<group>_<partition>_<generation>`` (``Durable``); a read
pulls through an ephemeral consumer that the server forgets a minute after it was last used
(if the reader died before deleting it). NATS 2.9 cannot move a consumer (no reset API; a
consumer's start sequence cannot be updated), so moving a group's partition is **starting the
next generation** of its consumer where it must start, then deleting the old one: created
before the old one is deleted, so a crash in between leaves both and the newest generation
wins (the next look at the group deletes the other).
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

__all__ = ["Durable", "NatsConsumers"]

_NAME = re.compile(r"g_([A-Za-z0-9_-]*)_(\d+)_(\d+)")
_ACK_WAIT = 3600 * 10**9  # never relied on: redelivery is by a new generation (nats_groups)
_READER_IDLE = 60 * 10**9


@dataclass(frozen=True, slots=True)
class Durable:
    """A group's consumer of one partition as the server reported it: ``committed`` is its
    ack floor, or the offset it was started after if it acknowledged nothing since."""

    name: str
    group: str
    partition: int
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
        group, partition, generation = untoken(match[1]), int(match[2]), int(match[3])
        return cls(info["name"], group, partition, generation, committed, info["num_ack_pending"])


class NatsConsumers(StreamLog):
    """Names, partition counts and consumers (``NatsLog`` sets ``connection`` and ``prefix``)."""

    connection: Connection
    prefix: str

    def __init__(self) -> None:
        self._shapes: dict[str, int] = {}

    def stream_name(self, stream: str) -> str:
        """The JetStream stream of ``stream``."""
        return f"{self.prefix}_{token(stream)}"

    def subject(self, stream: str, partition: int | str) -> str:
        """The subject of ``partition`` of ``stream`` (``*``: all of them)."""
        return f"{self.prefix}.{token(stream)}.{partition}"

    async def shape(self, stream: str) -> int:
        """The stream's partition count (never changes, so kept once seen)."""
        partitions = self._shapes.get(stream)
        if partitions is None:
            description = (await self.stream_info(stream))["config"]["description"]
            partitions = self._shapes[stream] = json.loads(description)["partitions"]
        return partitions

    async def stream_info(self, stream: str, **request: Any) -> dict[str, Any]:
        """``STREAM.INFO``; ``UnknownStream`` if there is no such stream."""
        try:
            return await self.connection.api(f"STREAM.INFO.{self.stream_name(stream)}", request)
        except JetStreamError as error:
            if error.code == STREAM_NOT_FOUND:
                self._shapes.pop(stream, None)
                raise UnknownStream(stream) from error
            raise

    async def consumers(self, stream: str) -> list[Durable]:
        """Every group consumer of ``stream`` (``CONSUMER.LIST``, page by page)."""
        await self.shape(stream)
        found: list[Durable] = []
        seen = 0
        while True:
            request = {"offset": seen}
            page = await self.connection.api(f"CONSUMER.LIST.{self.stream_name(stream)}", request)
            infos = page.get("consumers") or []
            seen += len(infos)
            found += [durable for durable in map(Durable.of, infos) if durable]
            if not infos or seen >= page["total"]:
                return found

    async def current(self, stream: str, group: str) -> dict[int, Durable]:
        """The newest generation of each partition's consumer; older ones are deleted."""
        current: dict[int, Durable] = {}
        stale: list[Durable] = []
        for durable in await self.consumers(stream):
            if durable.group != group:
                continue
            other = current.get(durable.partition)
            if other is None or durable.generation > other.generation:
                current[durable.partition] = durable
                stale += [other] if other else []
            else:
                stale.append(durable)
        await asyncio.gather(*(self.drop(stream, durable.name) for durable in stale))
        return current

    async def drop(self, stream: str, consumer: str) -> None:
        """Delete a consumer (gone already is fine)."""
        try:
            await self.connection.api(f"CONSUMER.DELETE.{self.stream_name(stream)}.{consumer}")
        except JetStreamError as error:
            if error.code != CONSUMER_NOT_FOUND:
                raise

    async def start(
        self, stream: str, group: str, partition: int, old: Durable | None, after: int
    ) -> Durable:
        """Start the next generation of the partition's consumer after offset ``after``
        (ack policy ``all``: acknowledging offset ``n`` acknowledges all before it), then
        delete ``old``."""
        generation = old.generation + 1 if old else 0
        name = f"g_{token(group)}_{partition}_{generation}"
        config = {
            "durable_name": name,
            "filter_subject": self.subject(stream, partition),
            "deliver_policy": "by_start_sequence",
            "opt_start_seq": max(after, 0) + 1,
            "ack_policy": "all",
            "ack_wait": _ACK_WAIT,
            "max_ack_pending": -1,
        }
        sname = self.stream_name(stream)
        request = {"stream_name": sname, "config": config}
        await self.connection.api(f"CONSUMER.DURABLE.CREATE.{sname}.{name}", request)
        if old is not None:
            await self.drop(stream, old.name)
        return Durable(name, group, partition, generation, max(after, 0))

    async def pull(self, stream: str, partition: int, after: int, limit: int) -> list[Msg]:
        """Up to ``limit`` messages of the partition after offset ``after``, through an
        ephemeral consumer (no acknowledgements) deleted afterwards."""
        sname = self.stream_name(stream)
        config = {
            "filter_subject": self.subject(stream, partition),
            "deliver_policy": "by_start_sequence",
            "opt_start_seq": max(after, 0) + 1,
            "ack_policy": "none",
            "inactive_threshold": _READER_IDLE,
            "mem_storage": True,
        }
        request = {"stream_name": sname, "config": config}
        reader = (await self.connection.api(f"CONSUMER.CREATE.{sname}", request))["name"]
        try:
            return await self.connection.fetch(sname, reader, limit)
        finally:
            await self.drop(stream, reader)
