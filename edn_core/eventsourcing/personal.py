"""Which fields of a domain event are personal data, of which data subject (pure Python).

A domain module declares them on the event class::

    @personal_data(subject="customer_id", shipping_address=REDACTED_ADDRESS)
    @dataclass(frozen=True, kw_only=True)
    class OrderPlaced(DomainEvent):
        customer_id: uuid.UUID
        shipping_address: Address

A store whose codec seals (``edn_core.eventsourcing.sealing``) keeps each declared field
encrypted with the key of the subject the ``subject`` field names; once that key is destroyed
(``edn_forget``) readers get the redacted value given here, so the event still decodes.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

__all__ = ["REDACTED", "PersonalData", "personal_data", "personal_data_of"]

REDACTED = "[redacted]"  # what a forgotten text reads as, by convention
T = TypeVar("T", bound=type)
_ATTRIBUTE = "__personal_data__"


@dataclass(frozen=True)
class PersonalData:
    """``fields``: name -> the value readers see once the subject is forgotten."""

    subject: str
    fields: Mapping[str, Any]

    def __post_init__(self) -> None:
        if not self.fields:
            raise ValueError("personal data names at least one field")
        if self.subject in self.fields:
            raise ValueError(f"{self.subject} names the subject: it cannot be sealed by its key")
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))

    def check(self, event_type: type) -> None:
        """Refuse a declaration that does not fit ``event_type``: unknown field names, or a
        redacted value that is not of its field's type (it could not be read back)."""
        if not dataclasses.is_dataclass(event_type):
            raise TypeError(f"{event_type.__name__} is not a dataclass")
        try:
            hints = typing.get_type_hints(event_type)
        except NameError:  # a type defined further down the module: names only
            hints = {}
        names = {f.name for f in dataclasses.fields(event_type)}
        unknown = sorted(({self.subject} | set(self.fields)) - names)
        if unknown:
            raise ValueError(f"{event_type.__name__} has no field {', '.join(unknown)}")
        for name, redacted in self.fields.items():
            if name in hints and not _fits(hints[name], redacted):
                raise TypeError(
                    f"{event_type.__name__}.{name}: the redacted value {redacted!r} "
                    f"is not a {hints[name]}"
                )


def personal_data(*, subject: str, **fields: Any) -> Callable[[T], T]:
    """Declare ``fields`` (name=redacted value) of the decorated event class personal data of
    the data subject whose id is in its field ``subject``."""
    declaration = PersonalData(subject, fields)

    def declare(event_type: T) -> T:
        declaration.check(event_type)
        setattr(event_type, _ATTRIBUTE, declaration)
        return event_type

    return declare


def personal_data_of(event_type: type) -> PersonalData | None:
    """The declaration of ``event_type`` (inherited by subclasses), or None."""
    return getattr(event_type, _ATTRIBUTE, None)


def _fits(kind: Any, value: Any) -> bool:
    if kind is Any:
        return True
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if value is None:
        return type(None) in args
    if origin in (typing.Union, types.UnionType):
        return any(_fits(option, value) for option in args if option is not type(None))
    if origin is not None:  # tuple[X, ...], list[X], ...: the outer shape is enough
        return isinstance(value, origin) if isinstance(origin, type) else True
    return not isinstance(kind, type) or isinstance(value, kind)
