"""Stream management of the NATS JetStream stream log (``edn_core.streams.nats``): creating a
stream (a JetStream stream per partition, partition 0 last, so that the stream exists once it
does), its shape and ends, the list of streams, replay from a time and retention (a binary
search of the sequences for the time; ``purge`` with ``seq`` keeps the later sequences as they
are), deleting a stream."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from edn_core.streams.nats_client import STREAM_NAME_IN_USE, STREAM_NOT_FOUND, JetStreamError
from edn_core.streams.nats_consumers import partitions_of
from edn_core.streams.nats_groups import NatsGroups
from edn_core.streams.port import DEDUP_WINDOW, StreamInfo, UnknownStream

__all__ = ["NatsStreams"]


class NatsStreams(NatsGroups):
    """The stream-management half of ``NatsLog`` (``replicas``, ``dedup_window``: set by it;
    a partition's JetStream stream remembers message ids for ``dedup_window``)."""

    replicas: int = 1
    dedup_window: timedelta = DEDUP_WINDOW

    async def _ensure(self, stream: str, partitions: int) -> None:
        if not stream or partitions < 1:
            raise ValueError(f"a stream needs a name and a partition or more: {stream!r}")
        try:
            found = await self.shape(stream)
        except UnknownStream:  # partition 0 last: the stream exists once it does
            others = range(1, partitions)
            await asyncio.gather(*(self._create(stream, p, partitions) for p in others))
            await self._create(stream, 0, partitions)
            found = await self.shape(stream)
        if found != partitions:
            raise ValueError(f"stream {stream!r} has {found} partitions, not {partitions}")

    async def _create(self, stream: str, partition: int, partitions: int) -> None:
        name = self.stream_name(stream, partition)
        description = {"stream": stream, "partition": partition, "partitions": partitions}
        config = {
            "name": name,
            "subjects": [self.subject(stream, partition)],
            "description": json.dumps(description),
            "storage": "file",
            "retention": "limits",
            "discard": "old",
            "num_replicas": self.replicas,
            "duplicate_window": self.dedup_window // timedelta(microseconds=1) * 1000,  # ns
        }
        try:
            await self.connection.api(f"STREAM.CREATE.{name}", config)
        except JetStreamError as error:  # created meanwhile, with another count?
            if error.code != STREAM_NAME_IN_USE:
                raise
            found = partitions_of(await self.stream_info(stream, partition))
            if found == partitions:
                raise
            raise ValueError(
                f"stream {stream!r} has {found} partitions, not {partitions}"
            ) from error

    async def _info(self, stream: str) -> StreamInfo:
        partitions = range(await self.shape(stream))
        infos = await asyncio.gather(*(self.stream_info(stream, p) for p in partitions))
        ends = {p: info["state"]["last_seq"] for p, info in enumerate(infos)}
        lengths = {p: info["state"]["messages"] for p, info in enumerate(infos)}
        return StreamInfo(stream, len(partitions), ends, lengths)

    async def _streams(self) -> list[str]:
        names: list[str] = []
        while True:
            request = {"subject": f"{self.prefix}.>", "offset": len(names)}
            page = await self.connection.api("STREAM.NAMES", request)
            names += page.get("streams") or []
            if not page.get("streams") or len(names) >= page["total"]:
                break
        return sorted(stream for stream in map(self.stream_of, names) if stream is not None)

    async def _last_before(self, stream: str, partition: int, when: datetime) -> int:
        await self.shape(stream)
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        name, subject = self.stream_name(stream, partition), self.subject(stream, partition)
        return await self.connection.last_before(name, subject, when)

    async def _trim_one(self, stream: str, partition: int, before: datetime) -> int:
        last = await self._last_before(stream, partition, before)
        if not last:
            return 0
        request = {"seq": last + 1}  # keeps the sequences from there on
        name = self.stream_name(stream, partition)
        return (await self.connection.api(f"STREAM.PURGE.{name}", request)).get("purged", 0)

    async def _trim(self, stream: str, before: datetime) -> int:
        partitions = range(await self.shape(stream))
        return sum(await asyncio.gather(*(self._trim_one(stream, p, before) for p in partitions)))

    async def _delete(self, stream: str) -> None:
        partitions = await self.shape(stream)
        self._shapes.pop(stream, None)
        for partition in [*range(1, partitions), 0]:  # partition 0 last, as it was created
            try:
                await self.connection.api(f"STREAM.DELETE.{self.stream_name(stream, partition)}")
            except JetStreamError as error:
                if error.code != STREAM_NOT_FOUND:
                    raise
