"""The streams port: durable, partitioned, replayable logs with consumer groups.

The bus delivers each event once to each subscriber (reactions); a stream keeps its entries
for replay and analytics (decision 0073). A **stream** has a fixed number of **partitions**;
an entry's partition is ``partition_of(key, partitions)``, so every entry of one key lands in
one partition, in append order. Each partition numbers its entries with **offsets**: integers,
strictly increasing in append order, not necessarily dense (a broker's own ids are mapped to
integers, see each adapter). Offset ``0`` means "before the first entry".

A **consumer group** is a named reader of a stream with one **committed offset** per partition
(0 until it commits). Groups are independent: one group's commits and resets never change
what another reads. Inside a group a partition is read by one consumer at a time (who owns
which partition is decided by the caller, see ``edn_core.streams.leases``), so entries of a key
are processed in order. ``consume`` hands a consumer the entries after the committed offset of
the partitions it owns: first those delivered before and not committed (to it or to a consumer
that died: a new owner takes them over at once, no idle timeout), then new ones. Committing
offset ``n`` of a partition acknowledges every entry up to ``n``.

An entry may carry an **id** (an integration event's id, say): appending an entry whose id the
stream already holds appends nothing and answers the position of the entry that has it, so an
appender that cannot tell whether its last append landed (it crashed, its transaction rolled
back after the append) appends again safely. The database log remembers an id as long as it
keeps the entry; a broker remembers it for its **dedup window** (``dedup_window``, a day by
default: an id appended again later is a new entry). An id belongs to one key: the brokers
remember ids per partition.

Every adapter passes the same contract suite (``tests/edn_core/streams/test_contract.py``).
"""

from __future__ import annotations

import abc
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

__all__ = [
    "DEDUP_WINDOW",
    "Entry",
    "NewEntry",
    "StreamInfo",
    "StreamLog",
    "UnknownStream",
    "partition_of",
]

DEDUP_WINDOW = timedelta(days=1)  # how long the brokers remember entry ids, by default


def partition_of(key: str, partitions: int) -> int:
    """The partition of ``key``: stable across processes, machines and Python versions."""
    return zlib.crc32(key.encode()) % partitions


class UnknownStream(LookupError):
    """The stream was never created (``ensure`` it first)."""


@dataclass(frozen=True, slots=True)
class NewEntry:
    """What an appender gives: a key (an aggregate id), a JSON object, optional headers, and
    optionally an id that makes appending it again a no-op (at most 200 characters)."""

    key: str
    value: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """An entry as read back. ``appended_at`` is the log's time of the append (aware, UTC,
    millisecond precision at least); event time, if any, is in ``value`` (processors choose)."""

    stream: str
    partition: int
    offset: int
    key: str
    value: dict[str, Any]
    headers: dict[str, str]
    appended_at: datetime
    id: str | None = None  # the id it was appended with, if any


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """A stream's shape and, per partition, the last offset ever appended (0: none yet; kept
    when retention removed the entries) and how many entries it holds now."""

    name: str
    partitions: int
    last_offsets: dict[int, int]
    lengths: dict[int, int]


class StreamLog(abc.ABC):
    """One adapter instance serves any number of streams. Thread-safe for use from several
    threads of one process. All times are aware datetimes."""

    name: str = ""  # "database", "redis", "nats"

    @abc.abstractmethod
    def ensure(self, stream: str, partitions: int) -> None:
        """Create ``stream`` with ``partitions`` partitions if it does not exist (idempotent;
        a different partition count for an existing stream is a ``ValueError``)."""

    @abc.abstractmethod
    def info(self, stream: str) -> StreamInfo:
        """The stream's shape and ends. ``UnknownStream`` if it does not exist."""

    @abc.abstractmethod
    def streams(self) -> list[str]:
        """The names of every stream, sorted."""

    @abc.abstractmethod
    def append(self, stream: str, entries: Sequence[NewEntry]) -> list[tuple[int, int]]:
        """Append ``entries`` (in order per key); return each one's ``(partition, offset)``.
        Durable when it returns. ``UnknownStream`` if the stream does not exist. An entry
        whose ``id`` the stream holds (an earlier append, or an earlier entry of this call) is
        not appended: its position is that entry's."""

    @abc.abstractmethod
    def read(self, stream: str, partition: int, after: int, limit: int) -> list[Entry]:
        """Up to ``limit`` entries of ``partition`` with offsets greater than ``after``, in
        offset order (replay; no group involved)."""

    @abc.abstractmethod
    def offset_at(self, stream: str, partition: int, when: datetime) -> int:
        """The offset to read ``after`` to replay from ``when``: the last offset appended
        before ``when`` (0 if none)."""

    @abc.abstractmethod
    def trim(self, stream: str, *, before: datetime) -> int:
        """Retention: remove entries appended before ``before``; return how many. Offsets of
        the others do not change; reading after a removed offset starts at the first kept."""

    # consumer groups

    @abc.abstractmethod
    def groups(self, stream: str) -> list[str]:
        """The names of the stream's groups, sorted."""

    @abc.abstractmethod
    def committed(self, stream: str, group: str) -> dict[int, int]:
        """The group's committed offset of every partition (0 where it never committed; a
        group never used: 0 everywhere)."""

    @abc.abstractmethod
    def consume(
        self, stream: str, group: str, consumer: str, partitions: Iterable[int], limit: int
    ) -> list[Entry]:
        """Up to ``limit`` entries for ``consumer`` from ``partitions`` (which it owns), each
        partition in offset order: entries after the committed offset that were delivered and
        not committed (redelivered, whoever had them), then new ones. Does not wait."""

    @abc.abstractmethod
    def commit(self, stream: str, group: str, offsets: Mapping[int, int]) -> None:
        """Commit ``offsets`` (partition -> offset) for ``group``: every entry up to each is
        done. Committing an offset lower than the committed one changes nothing."""

    @abc.abstractmethod
    def reset(self, stream: str, group: str, offsets: Mapping[int, int]) -> None:
        """Move the group's committed offsets (up or down) to ``offsets``; entries after them
        are delivered again, delivered-but-uncommitted state is forgotten."""

    @abc.abstractmethod
    def delete_group(self, stream: str, group: str) -> None:
        """Forget the group (its offsets and pending deliveries)."""

    def close(self) -> None:  # noqa: B027 (optional)
        """Release connections."""
