"""Redis stream ids as port offsets, and the times they carry.

A Redis id is ``<ms>-<seq>``: the server's clock in milliseconds when the entry was added and a
sequence number inside that millisecond. The port wants one integer per entry that keeps the
order, so an offset is ``ms << SEQ_BITS | seq``. Every integer is an id (``id_of`` is total and
keeps order), and every id with ``seq < 2**SEQ_BITS`` is an offset (``offset_of``).

The bound: Redis gives a ``seq`` of a million or more only when one partition receives over a
million entries inside one millisecond, or when the server's clock steps back and appends go on
inside the last millisecond seen (Redis never lets ids go backwards) until that many pile up.
``offset_of`` refuses such an id (``OverflowError``) rather than mis-order it. Offsets stay
below 2**63 (a signed 64-bit column can hold them) until the year 2248.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["SEQ_BITS", "appended_at", "id_of", "ms_after", "offset_of"]

SEQ_BITS = 20
_SEQ_MASK = (1 << SEQ_BITS) - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def offset_of(entry_id: str) -> int:
    """The offset of the Redis id ``entry_id`` (``"0-0"`` is offset 0)."""
    ms, _, seq = entry_id.partition("-")
    number = int(seq or 0)
    if number > _SEQ_MASK:
        raise OverflowError(f"Redis id {entry_id}: sequence above 2**{SEQ_BITS} in one ms")
    return int(ms) << SEQ_BITS | number


def id_of(offset: int) -> str:
    """The Redis id of ``offset`` (negative offsets are ``0-0``)."""
    offset = max(offset, 0)
    return f"{offset >> SEQ_BITS}-{offset & _SEQ_MASK}"


def appended_at(entry_id: str) -> datetime:
    """When the entry ``entry_id`` was added: the millisecond its id carries (aware, UTC)."""
    return _EPOCH + timedelta(milliseconds=int(entry_id.partition("-")[0]))


def ms_after(when: datetime) -> int:
    """The first millisecond that does not start before ``when``: entries whose millisecond is
    below it were appended before ``when`` (an aware datetime)."""
    if when.tzinfo is None:
        raise ValueError("stream times are aware datetimes")
    microseconds = (when - _EPOCH) // _MICROSECOND
    return max(-(-microseconds // 1000), 0)
