"""Streams over NATS JetStream (``NatsLog``), with the official client ``nats-py``.

Each partition of a stream is a JetStream stream, ``<prefix>_<name>_<partition>`` (the name
encoded by ``nats_codec.token``), file storage, kept until trimmed, with one subject,
``<prefix>.<name>.<partition>``; the partition count is in each one's description. (Why not
one JetStream stream per stream: see ``nats_consumers``.) An entry is one message whose body
is JSON ``{"k": key, "v": value, "h": headers, "i": id}``; an entry's id is its ``Nats-Msg-Id``,
which the partition's JetStream stream remembers for its duplicate window (the log's
``dedup_window``, set when the stream is created): a message with an id it holds is not
stored again and its acknowledgement gives the original's sequence.

- Offsets are the partition's sequence numbers (dense until trimmed); ``appended_at`` is the
  server's time of the message, to the microsecond (its clock, taken never to go back).
- ``append`` publishes every entry without waiting, then waits for all the acknowledgements:
  stored by the server when it returns.
- ``read`` pulls through an ephemeral consumer started after the offset; ``offset_at`` and
  ``trim`` find the time among the sequences (a binary search of message lookups); ``trim``
  purges each partition below the first entry it keeps (``purge`` with ``seq``), so the others
  keep their sequences.
- Streams: ``nats_streams``; groups: ``nats_groups``; consumers: ``nats_consumers``; the
  connection, its loop thread and the JetStream API: ``nats_client``.
Needs a NATS server 2.9 or later with JetStream.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import nats

from edn_core.streams.nats_client import Connection
from edn_core.streams.nats_codec import MSG_ID, body_of, entry_of, message_id
from edn_core.streams.nats_streams import NatsStreams
from edn_core.streams.port import (
    DEDUP_WINDOW,
    Entry,
    NewEntry,
    StreamInfo,
    UnknownStream,
    partition_of,
)

__all__ = ["NatsLog"]

_PREFIX = re.compile(r"[A-Za-z0-9-]+")


class NatsLog(NatsStreams):
    """The streams port on a NATS server at ``url``; the names and subjects of its streams
    start with ``prefix`` (letters, digits, ``-``). ``options`` go to ``nats.connect``;
    ``replicas`` is the streams' replica count in a cluster; ``timeout`` bounds a request;
    entry ids are remembered for ``dedup_window`` (by the streams created by this log)."""

    name = "nats"

    def __init__(
        self,
        url: str = "nats://127.0.0.1:4222",
        *,
        prefix: str = "edn",
        replicas: int = 1,
        dedup_window: timedelta = DEDUP_WINDOW,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        **options: Any,
    ) -> None:
        if not _PREFIX.fullmatch(prefix):
            raise ValueError(f"a NATS stream prefix is letters, digits and '-': {prefix!r}")
        super().__init__()
        self.url, self.prefix, self.replicas = url, prefix, replicas
        self.dedup_window = dedup_window
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
        self.connection.run(self._delete(stream))

    def close(self) -> None:
        self.connection.close()

    # on the loop

    async def _append(self, stream: str, entries: Sequence[NewEntry]) -> list[tuple[int, int]]:
        partitions = await self.shape(stream)
        if not entries:
            return []
        # every body before anything is sent: an entry that is not JSON appends nothing
        bodies = [body_of(entry) for entry in entries]
        placed = [partition_of(entry.key, partitions) for entry in entries]
        subjects = [self.subject(stream, p) for p in range(partitions)]
        publish = self.connection.js.publish_async
        headers = [None if e.id is None else {MSG_ID: message_id(e.id)} for e in entries]
        acks = [
            await publish(subjects[p], body, headers=h)
            for p, body, h in zip(placed, bodies, headers, strict=True)
        ]
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
        msgs = await self.pull(stream, partition, after, limit)
        return [entry_of(stream, partition, msg) for msg in msgs]
