"""Commands, their one handler each, the outcome of a command and the per-request answers of
a batch command -- no HTTP, no ORM."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from django.db import connections

from edn_core import schemas
from edn_core.domain import (
    ConcurrencyConflict,
    Conflict,
    DomainError,
    InvalidState,
    NotFound,
    ValidationFailed,
)
from edn_core.events import published_topics

__all__ = ["Answer", "Command", "CommandResult", "Outcome", "handles", "send"]


@dataclass(frozen=True, kw_only=True)
class Command:
    """An imperative request to change state (``CreateCustomer``); handled exactly once."""


class Outcome(StrEnum):
    """What became of a command: accepted, or the kind of refusal (each has its HTTP status)."""

    ACCEPTED = "Accepted"
    INVALID = "Invalid"
    NOT_FOUND = "NotFound"
    CONFLICT = "Conflict"
    INVALID_STATE = "InvalidState"
    PRECONDITION_FAILED = "PreconditionFailed"


@dataclass(frozen=True)
class CommandResult:
    """What a command did: its outcome, the resulting aggregate, or why it was refused."""

    outcome: Outcome
    value: Any = None
    message: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    error: DomainError | None = field(default=None, compare=False, repr=False)

    @property
    def accepted(self) -> bool:
        return self.outcome is Outcome.ACCEPTED

    def value_or_raise(self) -> Any:
        """Return the value of an accepted command; raise the domain error that refused it.

        For callers with no one to answer: an event handler's refused command is a failed
        delivery (retried, then dead-lettered), and a lost race stays a ConcurrencyConflict.
        """
        if self.accepted:
            return self.value
        raise self.error or DomainError(self.message or f"refused: {self.outcome}")


@dataclass(frozen=True)
class Answer:
    """The answer to one request of a batch command (a saga participant's reply): ``ok``, or
    not with the ``reason``. A "no" here is an answer to send back, not a refused command."""

    ok: bool
    reason: str = ""
    detail: dict[str, Any] | None = None


C = TypeVar("C", bound=Command)
_HANDLERS: dict[type[Command], Callable[[Any], Any]] = {}

# Most specific first: ConcurrencyConflict and ValidationFailed are plain DomainErrors too.
_OUTCOME_OF_ERROR: tuple[tuple[type[DomainError], Outcome], ...] = (
    (ValidationFailed, Outcome.INVALID),
    (NotFound, Outcome.NOT_FOUND),
    (ConcurrencyConflict, Outcome.PRECONDITION_FAILED),
    (InvalidState, Outcome.INVALID_STATE),
    (Conflict, Outcome.CONFLICT),
    (DomainError, Outcome.INVALID),
)


def handles(command_type: type[C]) -> Callable[[Callable[[C], Any]], Callable[[C], Any]]:
    """Register the decorated function as the one handler of ``command_type``."""

    def register(handler: Callable[[C], Any]) -> Callable[[C], Any]:
        existing = _HANDLERS.get(command_type)
        if existing is not None and existing is not handler:
            raise RuntimeError(f"{command_type.__name__} already handled by {existing.__name__}")
        _HANDLERS[command_type] = handler
        return handler

    return register


def send(command: Command) -> CommandResult:
    """Run the handler of ``command``; turn domain errors into a refused :class:`CommandResult`.

    The one way to run a command, from every entry point (HTTP, admin, event handlers,
    management commands, scheduled tasks): a caller that cannot answer a refusal itself calls
    :meth:`CommandResult.value_or_raise`.
    """
    try:
        handler = _HANDLERS[type(command)]
    except KeyError:
        raise LookupError(f"no handler registered for {type(command).__name__}") from None
    schemas.prepare_for_publish(published_topics())  # before the handler's transaction opens
    try:
        return CommandResult(Outcome.ACCEPTED, handler(command))
    except DomainError as error:
        if any(c.needs_rollback for c in connections.all(initialized_only=True)):
            raise  # it broke an enclosing transaction: the caller cannot go on as if refused
        outcome = next(o for kind, o in _OUTCOME_OF_ERROR if isinstance(error, kind))
        errors = error.errors if isinstance(error, ValidationFailed) else {}
        details = {k: v for k, v in error.details.items() if k != "errors"}
        return CommandResult(
            outcome, message=error.message, errors=errors, details=details, error=error
        )
