"""Domain events to JSON and back, by their declared field types; upcast on the way in."""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from edn_core.domain import DomainEvent
from edn_core.eventsourcing.upcasting import Upcasters

__all__ = ["EventCodec", "StoredEvent", "to_json"]


@dataclass(frozen=True)
class StoredEvent:
    """An event as a stream holds it."""

    stream_id: str
    version: int  # 1 for a stream's first event
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    position: int | None = None  # in the whole store; None until stored
    recorded_at: datetime | None = None

    @classmethod
    def of_row(cls, row: Any) -> StoredEvent:
        """The event a store table's row (a ``StoredEventBase`` instance) holds."""
        return cls(
            row.stream_id,
            row.version,
            row.type,
            row.schema_version,
            row.data,
            row.metadata,
            row.pk,
            row.recorded_at,
        )


class EventCodec:
    """The event classes a store knows, by name (``type``); unknown names are refused."""

    def __init__(self, *event_types: type[DomainEvent], upcasters: Upcasters | None = None):
        self.upcasters = upcasters or Upcasters()
        self._types = {t.__name__: t for t in event_types}

    def encode(self, event: DomainEvent) -> tuple[str, int, dict[str, Any]]:
        """Return ``(type, schema version, JSON-able data)``."""
        name = type(event).__name__
        if name not in self._types:
            raise LookupError(f"{name} is not an event type of this codec")
        return name, self.upcasters.current_version(name), to_json(event)

    def encode_all(self, events: Sequence[DomainEvent]) -> list[tuple[str, int, dict[str, Any]]]:
        """:meth:`encode` each event (a subclass may batch its lookups)."""
        return [self.encode(event) for event in events]

    def decode(self, stored: StoredEvent) -> DomainEvent:
        """Return the event ``stored`` holds, in today's shape."""
        return self._decode(stored, {})

    def decode_all(self, stored: Sequence[StoredEvent]) -> list[DomainEvent]:
        """Return the events ``stored`` hold, in order (a subclass may batch its lookups)."""
        current: dict[str, int] = {}  # each type's shape today, looked up once per call
        return [self._decode(event, current) for event in stored]

    def _decode(self, stored: StoredEvent, current: dict[str, int]) -> DomainEvent:
        event_type = self._types.get(stored.type)
        if event_type is None:
            raise LookupError(f"{stored.type} is not an event type of this codec")
        version = current.get(stored.type)
        if version is None:
            version = current[stored.type] = self.upcasters.current_version(stored.type)
        data = stored.data
        if stored.schema_version != version:  # older (upcast) or newer (refused)
            _, data = self.upcasters.upcast(stored.type, stored.schema_version, data)
        return _dataclass(event_type)(data)


def to_json(value: Any) -> Any:
    """A domain event (or any value in one) as JSON-able data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    return value


@functools.cache
def _converter(kind: Any) -> Callable[[Any], Any] | None:
    """A function turning JSON data (not None) into a value of the declared type ``kind``, or
    None where JSON gives it as it is (str, int, bool, float, Any). Built once per type:
    decoding is per event, and a projection's catch-up decodes thousands a second."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        concrete = [a for a in args if a is not type(None)]
        return _converter(concrete[0]) if len(concrete) == 1 else None
    if origin in (list, tuple):
        item = _converter(args[0] if args else Any)
        many = tuple if origin is tuple else list
        if item is None:
            return many
        return lambda value: many([None if v is None else item(v) for v in value])
    if origin is dict:
        item = _converter(args[1] if args else Any)
        if item is None:
            return dict
        return lambda value: {key: None if v is None else item(v) for key, v in value.items()}
    if dataclasses.is_dataclass(kind):
        return _dataclass(kind)
    if kind is uuid.UUID:
        return _uuid
    if kind is Decimal or (isinstance(kind, type) and issubclass(kind, Enum)):
        return kind
    return datetime.fromisoformat if kind is datetime else None


@functools.cache
def _dataclass(kind: type) -> Callable[[dict], Any]:
    """Build a ``kind`` from its JSON object: its fields converted (None stays None), keys
    that are not its fields ignored, missing ones left to their defaults."""
    hints = _init_hints(kind)
    names = frozenset(hints)
    converting = tuple((n, c) for n, hint in hints.items() if (c := _converter(hint)) is not None)

    def build(value: dict) -> Any:
        if value.keys() <= names:
            fields = dict(value)
        else:
            fields = {key: v for key, v in value.items() if key in names}
        for name, convert in converting:
            item = fields.get(name)
            if item is not None:
                fields[name] = convert(item)
        return kind(**fields)

    return build


_new, _set, _UNKNOWN = object.__new__, object.__setattr__, uuid.SafeUUID.unknown


def _uuid(text: str) -> uuid.UUID:
    """``uuid.UUID(text)``, twice as fast for the usual 8-4-4-4-12 spelling."""
    digits = text.replace("-", "")
    if len(digits) != 32:  # braces, a urn: prefix, or wrong (UUID says how)
        return uuid.UUID(text)
    value = _new(uuid.UUID)
    _set(value, "int", int(digits, 16))
    _set(value, "is_safe", _UNKNOWN)
    return value


@functools.cache
def _init_hints(kind: type) -> dict[str, Any]:
    """The declared types of a dataclass's ``__init__`` fields (resolved once per class)."""
    hints = typing.get_type_hints(kind)
    return {f.name: hints[f.name] for f in dataclasses.fields(kind) if f.init}
