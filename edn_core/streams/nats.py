"""Streams over NATS JetStream (``NatsLog``), with the official client ``nats-py``.

One JetStream stream per stream, named ``<prefix>_<name>`` (the name encoded by
``nats_codec.token``), file storage, kept until trimmed; its subjects are
``<prefix>.<name>.<partition>`` and its partition count is in its description. An entry is
one message whose body is JSON ``{"k": key, "v": value, "h": headers}``.

- Offsets are the stream's sequence numbers: increasing in each partition, not dense (the
  partitions share one sequence). ``appended_at`` is the server's time of the message, to the
  microsecond (the server's clock, taken never to go back).
- ``append`` publishes every entry without waiting, then waits for all the acknowledgements:
  stored by the server when it returns.
- ``read`` pulls through an ephemeral consumer started after the offset and filtered on the
  partition's subject; ``offset_at`` and ``trim`` find the time among the sequences (a binary
  search of message lookups); ``trim`` purges the stream below the first entry it keeps
  (``purge`` with ``seq``), so the others keep their sequences.
- Consumer groups: ``nats_groups``; consumers: ``nats_consumers``; the connection, its loop
  thread and the JetStream API: ``nats_client``.

Needs a NATS server 2.9 or later with JetStream.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import nats

from edn_core.streams.nats_client import STREAM_NAME_IN_USE, Connection, JetStreamError
from edn_core.streams.nats_codec import body_of, entry_of, untoken
from edn_core.streams.nats_groups import NatsGroups
from edn_core.streams.port import Entry, NewEntry, StreamInfo, UnknownStream, partition_of

__all__ = ["NatsLog"]

_PREFIX = re.compile(r"[A-Za-z0-9-]+")


class NatsLog(NatsGroups):
    """The streams port on a NATS server at ``url``; the names and subjects of its streams
    start with ``prefix`` (letters, digits, ``-``). ``options`` go to ``nats.connect``;
    ``replicas`` is the streams' replica count in a cluster; ``timeout`` bounds a request."""

    name = "nats"

    def __init__(
        self,
        url: str = "nats://127.0.0.1:4222",
        *,
        prefix: str = "edn",
        replicas: int = 1,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        **options: Any,
    ) -> None:
        if not _PREFIX.fullmatch(prefix):
            raise ValueError(f"a NATS stream prefix is letters, digits and '-': {prefix!r}")
        super().__init__()
        self.url, self.prefix, self.replicas = url, prefix, replicas
        self.connection = Connection(
            url, timeout=timeout, connect_timeout=connect_timeout, options=options
        )

    def ensure(self, stream: str, partitions: int) -> None:
        self.connection.run(self._ensure(stream, partitions))

    def info(self, stream: str) -> StreamInfo:
        return self.connection.run(self._info(stream))

    def streams(self) -> list[str]:
        return self.connection.run(self._streams())

    def append(self, stream: str, entries: Sequence[NewEntry]) -> list[tuple[int, int]]:
        return self.connection.run(self._append(stream, entries))

    def read(self, stream: str, partition: int, after: int, limit: int) -> list[Entry]:
        return self.connection.run(self._read(stream, partition, after, limit))

    def offset_at(self, stream: str, partition: int, when: datetime) -> int:
        return self.connection.run(self._last_before(stream, partition, when))

    def trim(self, stream: str, *, before: datetime) -> int:
        return self.connection.run(self._trim(stream, before))

    def delete(self, stream: str) -> None:
        """Delete the stream with its entries and groups (not in the port: tests, operators)."""
        self._shapes.pop(stream, None)
        self.connection.run(self.connection.api(f"STREAM.DELETE.{self.stream_name(stream)}"))

    def close(self) -> None:
        self.connection.close()

    # on the loop

    async def _ensure(self, stream: str, partitions: int) -> None:
        if not stream or partitions < 1:
            raise ValueError(f"a stream needs a name and a partition or more: {stream!r}")
        try:
            found = await self.shape(stream)
        except UnknownStream:
            config = {
                "name": self.stream_name(stream),
                "subjects": [self.subject(stream, "*")],
                "description": json.dumps({"stream": stream, "partitions": partitions}),
                "storage": "file",
                "retention": "limits",
                "discard": "old",
                "num_replicas": self.replicas,
            }
            try:
                await self.connection.api(f"STREAM.CREATE.{config['name']}", config)
                found = partitions
            except JetStreamError as error:  # created meanwhile (with another count?)
                if error.code != STREAM_NAME_IN_USE:
                    raise
                found = await self.shape(stream)
        if found != partitions:
            raise ValueError(f"stream {stream!r} has {found} partitions, not {partitions}")

    async def _info(self, stream: str) -> StreamInfo:
        partitions = await self.shape(stream)
        info = await self.stream_info(stream, subjects_filter=self.subject(stream, "*"))
        counts = info["state"].get("subjects") or {}
        lengths = {p: counts.get(self.subject(stream, p), 0) for p in range(partitions)}

        async def last(p: int) -> int:
            if not lengths[p]:
                return 0
            request = {"last_by_subj": self.subject(stream, p)}
            found = await self.connection.message(self.stream_name(stream), request)
            return found[0] if found else 0

        ends = await asyncio.gather(*(last(p) for p in range(partitions)))
        return StreamInfo(stream, partitions, dict(enumerate(ends)), lengths)

    async def _streams(self) -> list[str]:
        names: list[str] = []
        while True:
            request = {"subject": f"{self.prefix}.>", "offset": len(names)}
            page = await self.connection.api("STREAM.NAMES", request)
            names += page.get("streams") or []
            if not page.get("streams") or len(names) >= page["total"]:
                break
        start = f"{self.prefix}_"
        return sorted(untoken(name[len(start) :]) for name in names if name.startswith(start))

    async def _append(self, stream: str, entries: Sequence[NewEntry]) -> list[tuple[int, int]]:
        partitions = await self.shape(stream)
        if not entries:
            return []
        # every body before anything is sent: an entry that is not JSON appends nothing
        bodies = [body_of(entry) for entry in entries]
        placed = [partition_of(entry.key, partitions) for entry in entries]
        subjects = [self.subject(stream, p) for p in range(partitions)]
        publish = self.connection.js.publish_async
        acks = [await publish(subjects[p], body) for p, body in zip(placed, bodies, strict=True)]
        try:
            done = await asyncio.gather(*acks)
        except nats.js.errors.NoStreamResponseError as error:  # deleted since
            self._shapes.pop(stream, None)
            raise UnknownStream(stream) from error
        return [(p, ack.seq) for p, ack in zip(placed, done, strict=True)]

    async def _read(self, stream: str, partition: int, after: int, limit: int) -> list[Entry]:
        await self.shape(stream)
        if limit <= 0:
            return []
        return [
            entry_of(stream, partition, m) for m in await self.pull(stream, partition, after, limit)
        ]

    async def _last_before(self, stream: str, partition: int | str, when: datetime) -> int:
        await self.shape(stream)
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        subject = self.subject(stream, partition)
        return await self.connection.last_before(self.stream_name(stream), subject, when)

    async def _trim(self, stream: str, before: datetime) -> int:
        last = await self._last_before(stream, "*", before)
        if not last:
            return 0
        request = {"seq": last + 1}  # keeps the sequences from there on
        purged = await self.connection.api(f"STREAM.PURGE.{self.stream_name(stream)}", request)
        return purged.get("purged", 0)
