"""Building blocks of a domain model: pure Python, no framework imports.

An :class:`AggregateRoot` records the domain events its methods raise and carries the
``version`` it was loaded at; persistence bumps the version on every successful save, and the
HTTP layer derives the ETag from it.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

__all__ = [
    "AggregateRoot",
    "ConcurrencyConflict",
    "Conflict",
    "DomainError",
    "DomainEvent",
    "Entity",
    "InvalidState",
    "NotFound",
    "ValidationFailed",
    "ValueObject",
    "new_id",
]


def new_id() -> uuid.UUID:
    """Return a fresh random identifier for an entity."""
    return uuid.uuid4()


class DomainError(Exception):
    """Raise when a domain rule refuses an operation; subclasses say which kind."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    """The aggregate asked for does not exist."""


class InvalidState(DomainError):
    """The operation is not allowed in the aggregate's current state."""


class Conflict(DomainError):
    """The operation conflicts with existing data (a duplicate, a rule across aggregates)."""


class ConcurrencyConflict(DomainError):
    """The aggregate changed since the version the caller based its change on."""

    def __init__(self, message: str, *, expected: int | None, actual: int | None) -> None:
        super().__init__(message, expected=expected, actual=actual)
        self.expected = expected
        self.actual = actual


class ValidationFailed(DomainError):
    """Input breaks an invariant; ``errors`` maps a field path to its messages."""

    def __init__(self, errors: dict[str, list[str]], message: str = "Invalid input.") -> None:
        super().__init__(message, errors=errors)
        self.errors = errors


class ValueObject:
    """Base for immutable values compared by content; subclasses are frozen dataclasses."""

    def replace(self, **changes: Any) -> Self:
        """Return a copy with ``changes`` applied (re-running the value's own checks)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Something that happened to an aggregate, named in the past tense."""

    aggregate_id: uuid.UUID
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class Entity:
    """An object with an identity that outlives changes to its attributes."""

    def __init__(self, id: uuid.UUID) -> None:
        self.id = id

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.id == self.id  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self.id))


class AggregateRoot(Entity):
    """A consistency boundary: loaded, changed and saved as one unit.

    ``version`` is 0 for an aggregate that was never saved. Methods that change state call
    :meth:`record` with the event that describes the change.
    """

    kind: ClassVar[str] = ""

    def __init__(self, id: uuid.UUID, version: int = 0) -> None:
        super().__init__(id)
        self.version = version
        self._events: list[DomainEvent] = []

    def record(self, event: DomainEvent) -> None:
        """Remember ``event`` until the aggregate is saved."""
        self._events.append(event)

    @property
    def pending_events(self) -> tuple[DomainEvent, ...]:
        """Events recorded since the aggregate was loaded, oldest first."""
        return tuple(self._events)

    def pull_events(self) -> list[DomainEvent]:
        """Return the recorded events and forget them (the saver owns them now)."""
        events, self._events = self._events, []
        return events

    def check_version(self, expected: int | None) -> None:
        """Raise :class:`ConcurrencyConflict` unless ``expected`` is None or the current version."""
        if expected is not None and expected != self.version:
            raise ConcurrencyConflict(
                f"{type(self).__name__} {self.id} is at version {self.version}, not {expected}.",
                expected=expected,
                actual=self.version,
            )
