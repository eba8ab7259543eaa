"""Registry rules, pure Python: canonical documents, validity, and compatibility decisions."""

from __future__ import annotations

import hashlib
import json

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from edn_core.domain import Conflict, DomainError
from schema_registry.compatibility import Incompatibility, Mode, check

__all__ = [
    "IncompatibleSchema",
    "InvalidSchema",
    "canonical",
    "ensure_compatible",
    "ensure_valid",
    "parse",
]
# Deeper documents are refused: every check below recurses once per level.
MAX_DEPTH = 64


class InvalidSchema(DomainError):
    """The document is not a valid JSON Schema (draft 2020-12)."""


class IncompatibleSchema(Conflict):
    """The document breaks the subject's compatibility mode; ``reasons`` say where and why."""

    def __init__(self, subject: str, mode: str, reasons: list[Incompatibility]) -> None:
        super().__init__(
            f"Schema is incompatible with {subject} under {mode}: "
            + "; ".join(reason.message for reason in reasons),
            reasons=[reason.message for reason in reasons],
        )
        self.reasons = reasons


def canonical(document: dict) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def fingerprint(document: dict) -> str:
    return hashlib.sha256(canonical(document).encode()).hexdigest()


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _depth(value: object) -> int:
    deepest, level = 0, [value]
    while level:
        deepest += 1
        level = [
            child
            for item in level
            if isinstance(item, (dict, list))
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, (dict, list))
        ]
        if deepest > MAX_DEPTH:
            break
    return deepest


def _has_nul(value: object) -> bool:
    """U+0000 in any key or string: PostgreSQL's jsonb cannot store it."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    return isinstance(value, list) and any(map(_has_nul, value))


def parse(raw: object) -> dict:
    """Return the valid schema document ``raw`` holds: JSON text (Confluent's form) or an object."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as error:
            raise InvalidSchema(f"The schema is not JSON: {error}") from None
    return ensure_valid(raw)


def ensure_valid(document: object) -> dict:
    """Return ``document`` if it is a JSON Schema object (draft 2020-12); raise otherwise."""
    if not isinstance(document, dict):
        raise InvalidSchema("A schema must be a JSON object.")
    if _depth(document) > MAX_DEPTH:
        raise InvalidSchema(f"A schema may nest at most {MAX_DEPTH} levels.")
    if _has_nul(document):
        raise InvalidSchema("A schema may not contain the character U+0000.")
    try:
        Draft202012Validator.check_schema(document)
    except SchemaError as error:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise InvalidSchema(f"Invalid JSON Schema at {where}: {error.message}") from None
    return document


def incompatibilities(subject: str, mode: str, new: dict, history: list[dict]) -> list:
    """Return why ``new`` breaks ``mode`` against ``history`` (oldest first); [] if it does not."""
    return check(new, history, Mode(mode))


def ensure_compatible(subject: str, mode: str, new: dict, history: list[dict]) -> None:
    reasons = incompatibilities(subject, mode, new, history)
    if reasons:
        raise IncompatibleSchema(subject, mode, reasons)
