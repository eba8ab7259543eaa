"""What a received CloudEvent must be, beyond the CloudEvents SDK's own checks, for this
platform to keep and deliver it as it is:

- ``id``, ``subject`` and ``type`` fit the bus tables' columns (100, 100, 200 characters);
- ``sequence`` is an integer from 0 to 2**63-1 (a bigint): decimal digits, the sequence
  extension's string form that we publish, or a JSON integer;
- ``time`` is an RFC 3339 timestamp; ``datacontenttype``, if given, a JSON media type;
  ``dataschema`` a string and, if one of ours (``urn:edn:schema:``), a well-formed one;
- our extensions (``partitionkey``, ``correlationid``, ``causationid``, ``traceparent``) are
  strings, any other a string, a boolean or a 32-bit integer (CloudEvents' types);
- no attribute holds a control character or a lone surrogate (CloudEvents' String), no string
  of the data holds NUL (PostgreSQL's text cannot) or a lone surrogate (not encodable).

The character rules walk an event only if :func:`suspect` found such a character, or its
JSON escape, in the message's text: one scan in C rather than a walk in Python per event.
"""

from __future__ import annotations

import re
from typing import Any

from cloudevents.core.formats.json import JSONFormat

__all__ = ["attribute_error", "character_error", "suspect", "unstorable"]

MAX_SEQUENCE = 2**63 - 1
_WIDTHS = {"id": 100, "subject": 100, "type": 200}
_CORE = {"id", "source", "type", "specversion", "time", "subject", "sequence"}
_CORE |= {"datacontenttype", "dataschema"}
_OURS = {"partitionkey", "correlationid", "causationid", "traceparent"}
_INTEGER = range(-(2**31), 2**31)
_SEQUENCE = re.compile(r"[0-9]{1,19}")
_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_OUR_SCHEMA = re.compile(r"urn:edn:schema:[^:]+:[0-9]{1,9}:[0-9]{1,18}")
_JSON_MEDIA_TYPE = JSONFormat.JSON_CONTENT_TYPE_PATTERN
_IN_ATTRIBUTES = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_IN_DATA = re.compile("[\x00\ud800-\udfff]")
# Escaped in a JSON string (\n, \u0000, \ud800...), or raw: a parsed JSON text holds no raw
# character below U+0020 but its whitespace, and an ASCII text none above U+007F.
_SUSPECT_ESCAPE = re.compile(r"\\(?:[bfnrt]|u(?:00[01]|007[fF]|00[89]|[dD][89a-fA-F]))")
_SUSPECT_RAW = re.compile("[\x7f-\x9f\ud800-\udfff]")


def suspect(text: str) -> bool:
    """Whether ``text`` may hold a character the character rules refuse."""
    if _SUSPECT_ESCAPE.search(text) or "\x7f" in text:
        return True
    return not text.isascii() and _SUSPECT_RAW.search(text) is not None


def attribute_error(attrs: dict[str, Any]) -> str | None:
    """Why these attributes (present, not null, ``data`` apart) break a rule above, or None."""
    for name, width in _WIDTHS.items():
        if isinstance(attrs[name], str) and len(attrs[name]) > width:
            return f"{name} is longer than {width} characters"
    sequence = attrs["sequence"]
    if type(sequence) is int:
        fits = 0 <= sequence <= MAX_SEQUENCE
    else:
        fits = isinstance(sequence, str) and bool(_SEQUENCE.fullmatch(sequence))
        fits = fits and int(sequence) <= MAX_SEQUENCE
    if not fits:
        return f"sequence {str(sequence)[:40]!r} is not an integer from 0 to 2**63-1"
    if not (isinstance(attrs["time"], str) and _TIME.fullmatch(attrs["time"])):
        return "time is not an RFC 3339 timestamp"
    media_type = attrs.get("datacontenttype")
    if media_type is not None and not (
        isinstance(media_type, str) and _JSON_MEDIA_TYPE.match(media_type)
    ):
        return "datacontenttype is not a JSON media type"
    schema = attrs.get("dataschema")
    if schema is not None and not (
        isinstance(schema, str)
        and (not schema.startswith("urn:edn:schema:") or _OUR_SCHEMA.fullmatch(schema))
    ):
        return "dataschema is not a string, or not a well-formed reference to a schema"
    for name, value in attrs.items():
        if name in _CORE or isinstance(value, str):
            continue
        if name in _OURS or not (type(value) is bool or (type(value) is int and value in _INTEGER)):
            return f"extension {name[:40]!r} cannot be a {type(value).__name__}"
    return None


def character_error(attrs: dict[str, Any]) -> str | None:
    """Which attribute holds a control character or a lone surrogate, if one does."""
    for name, value in attrs.items():
        if isinstance(value, str) and _IN_ATTRIBUTES.search(value):
            return f"{name[:40]!r} holds a control character or a lone surrogate"
    return None


def unstorable(data: Any) -> str | None:
    """Why a string (or key) of ``data`` cannot be stored, or None. Walks without recursion:
    the data may be nested as deep as the JSON parser allowed."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings: Any = (item,)
        elif isinstance(item, dict):
            strings = item.keys()
            stack.extend(item.values())
        else:
            strings = ()
            if isinstance(item, list):
                stack.extend(item)
        if any(_IN_DATA.search(s) for s in strings):
            return "holds NUL or a lone surrogate"
    return None
