"""How the NATS JetStream stream log (``edn_core.streams.nats``) encodes names, entries and
times: a stream or group name becomes one subject token (``token``), an entry one message whose
body is JSON ``{"k": key, "v": value, "h": headers, "i": id}`` (``body_of``, ``entry_of``; the
id also goes in the ``Nats-Msg-Id`` header, by which JetStream deduplicates: ``message_id``),
and the server's nanosecond times are cut to the microsecond the same way wherever read."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta

from nats.aio.msg import Msg

from edn_core.streams.port import Entry, NewEntry

__all__ = ["MSG_ID", "body_of", "entry_of", "message_id", "time_of", "token", "untoken"]

MSG_ID = "Nats-Msg-Id"  # JetStream's header of a message's id: an entry's id

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TIME = re.compile(r"(.+T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)")


def token(name: str) -> str:
    """``name`` as one subject token and part of a stream or consumer name: ASCII letters,
    digits and ``-`` stay, every other byte becomes ``_`` and two hex digits (reversible)."""
    return "".join(
        c if c.isascii() and (c.isalnum() or c == "-") else "".join(f"_{b:02x}" for b in c.encode())
        for c in name
    )


def untoken(text: str) -> str:
    """The name that ``token`` encoded as ``text``."""
    out, i = bytearray(), 0
    while i < len(text):
        if text[i] == "_":
            out += bytes.fromhex(text[i + 1 : i + 3])
            i += 3
        else:
            out += text[i].encode()
            i += 1
    return out.decode()


def body_of(entry: NewEntry) -> bytes:
    """The message body of ``entry`` (no ``h`` without headers, no ``i`` without an id)."""
    body: dict[str, object] = {"k": entry.key, "v": entry.value}
    if entry.headers:
        body["h"] = entry.headers
    if entry.id is not None:
        body["i"] = entry.id
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def message_id(entry_id: str) -> str:
    """The ``Nats-Msg-Id`` header of an entry id: the id, or its digest if a header would not
    keep it (a line break, a control character, spaces around it)."""
    if entry_id.isprintable() and entry_id == entry_id.strip():
        return entry_id
    return "sha256:" + hashlib.sha256(entry_id.encode()).hexdigest()


def entry_of(stream: str, partition: int, msg: Msg) -> Entry:
    """The entry a consumer delivered: sequence and time from the ack subject
    (``$JS.ACK.<stream>.<consumer>.<delivered>.<seq>.<n>.<nanos>.<pending>``, or the form with
    a domain and an account, two tokens more), key, value, headers and id from the JSON body."""
    tokens = msg.reply.split(".")
    seq, nanos = (tokens[5], tokens[7]) if len(tokens) == 9 else (tokens[7], tokens[9])
    body = json.loads(msg.data)
    appended_at = _EPOCH + timedelta(microseconds=int(nanos) // 1000)
    headers, entry_id = body.get("h", {}), body.get("i")
    return Entry(stream, partition, int(seq), body["k"], body["v"], headers, appended_at, entry_id)


def time_of(text: str) -> datetime:
    """A server time (RFC 3339 to the nanosecond) to the microsecond, cut as ``entry_of`` cuts."""
    match = _TIME.fullmatch(text)
    if match is None:
        raise ValueError(f"not a JetStream time: {text!r}")
    base = datetime.fromisoformat(match[1] + ("+00:00" if match[3] == "Z" else match[3]))
    micros = int((match[2] or "")[:6].ljust(6, "0"))
    return (base + timedelta(microseconds=micros)).astimezone(UTC)
