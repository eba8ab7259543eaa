"""The port to a schema registry: what a :class:`SchemaSource` answers, and the errors of the
schema layer (plain exceptions: the HTTP edge maps the server-side ones to 503).

:mod:`edn_core.schemas` re-exports every name; a source (:mod:`edn_core.schema_client`, the
registry app's local one) needs only this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from edn_core.conditions import ServerSideCondition
from edn_core.domain import ValidationFailed

__all__ = [
    "BadSchemaReference",
    "EventSchemaViolation",
    "RegisteredSchema",
    "RegistryUnavailable",
    "SchemaRefused",
    "SchemaSource",
    "UnknownSchema",
    "parse_reference",
    "reference",
]


@dataclass(frozen=True)
class RegisteredSchema:
    subject: str
    version: int
    id: int
    document: dict


class SchemaSource(Protocol):
    def get(self, subject: str, version: int | None) -> RegisteredSchema | None:
        """Return ``version`` (None = latest) of ``subject``, or None when not registered."""

    def register(self, subject: str, document: dict) -> RegisteredSchema:
        """Register ``document`` (the same one again is a no-op); raise :class:`SchemaRefused`."""

    def compatibility(self, subject: str, document: dict) -> list[str]:
        """Return why ``document`` could not be registered now; [] when it could."""

    def register_reader(self, subject: str, consumer: str, document: dict) -> int:
        """Register (or replace) ``consumer``'s reader schema of ``subject``; return its id.
        Raise :class:`SchemaRefused` when it is invalid or the latest version breaks it."""


class SchemaRefused(Exception):
    """The registry refused a schema (invalid or incompatible); ``reasons`` say why."""

    def __init__(self, message: str, reasons: list[str] | None = None) -> None:
        super().__init__(message)
        self.message, self.reasons = message, reasons or []


class EventSchemaViolation(ValidationFailed):
    """An event's data breaks its registered schema; ``errors`` maps data paths to messages."""

    def __init__(self, topic: str, errors: dict[str, list[str]], reference: str) -> None:
        super().__init__(errors, f"Event {topic} does not match its registered schema {reference}.")


class BadSchemaReference(EventSchemaViolation):
    """A received envelope's ``dataschema`` does not name a version of its topic."""

    def __init__(self, topic: str, dataschema: str) -> None:
        message = f"dataschema {dataschema!r} does not name a version of {topic}."
        ValidationFailed.__init__(self, {"dataschema": [message]}, message)


class UnknownSchema(ServerSideCondition):
    """No schema is registered for the topic (or the version) an event names: a gap in the
    registry's setup, never the client's fault (a command it stops is a 503)."""

    code = "schema-not-registered"
    retry_after = 60  # an operator has to act


class RegistryUnavailable(ServerSideCondition):
    """The remote registry did not answer (or not as a registry) and the schema is not cached."""

    code = "schema-registry-unavailable"
    default_message = "The schema registry cannot be reached and the schema is not cached."
    retry_after = 10


def reference(schema: RegisteredSchema) -> str:
    """The ``dataschema`` of an envelope: names the subject, version and global id."""
    return f"urn:edn:schema:{schema.subject}:{schema.version}:{schema.id}"


def parse_reference(value: str) -> tuple[str, int] | None:
    parts = value.rsplit(":", 2)
    if not value.startswith("urn:edn:schema:") or len(parts) != 3 or not parts[1].isdigit():
        return None
    return parts[0].removeprefix("urn:edn:schema:"), int(parts[1])
