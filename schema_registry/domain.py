"""Registry rules, pure Python: canonical documents, validity, and compatibility decisions."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from edn_core.compatibility import Incompatibility, Mode, check
from edn_core.domain import Conflict, DomainError
from edn_core.readers import ReaderConflict

__all__ = [
    "IncompatibleSchema",
    "InvalidSchema",
    "Limits",
    "ReadersBroken",
    "canonical",
    "ensure_compatible",
    "ensure_valid",
    "ensure_within",
    "parse",
]


@dataclass(frozen=True)
class Limits:
    """How large a schema the registry takes; a larger one is refused before any check, as
    each check costs time in proportion (the meta-schema's alone about 0.15 ms a subschema)."""

    max_bytes: int  # its compact JSON text, UTF-8
    max_depth: int  # levels of objects and arrays
    max_subschemas: int  # JSON objects and booleans: every subschema is one


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


class ReadersBroken(Conflict):
    """The document breaks registered readers of the subject (any mode, NONE included)."""

    def __init__(self, subject: str, conflicts: list[ReaderConflict], doing: str) -> None:
        consumers = ", ".join(sorted({c.consumer for c in conflicts}))
        super().__init__(
            f"{doing} would break the reader(s) {consumers} of {subject}: "
            + "; ".join(c.message for c in conflicts),
            reasons=[c.message for c in conflicts],
            conflicts=[c.as_dict() for c in conflicts],
        )


def canonical(document: dict) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def fingerprint(document: dict) -> str:
    return hashlib.sha256(canonical(document).encode()).hexdigest()


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _shape(document: dict, limits: Limits) -> tuple[int, int]:
    """Return how many levels ``document`` nests (counting stops past ``limits.max_depth``)
    and how many objects and booleans it holds, without recursion."""
    depth, count, level = 0, 1, [document]
    while level and depth <= limits.max_depth:
        depth += 1
        children = [
            child for item in level for child in (item.values() if isinstance(item, dict) else item)
        ]
        count += sum(isinstance(child, dict | bool) for child in children)
        level = [child for child in children if isinstance(child, dict | list)]
    return depth, count


def ensure_within(document: dict, limits: Limits) -> None:
    """Refuse ``document`` if it is larger than ``limits`` allow; cheap, before any check."""
    depth, subschemas = _shape(document, limits)
    if depth > limits.max_depth:
        raise InvalidSchema(
            f"A schema may nest at most {limits.max_depth} levels (EDN_SCHEMA_MAX_DEPTH)."
        )
    if subschemas > limits.max_subschemas:
        raise InvalidSchema(
            f"A schema may hold at most {limits.max_subschemas} subschemas, counted as JSON"
            f" objects and booleans (EDN_SCHEMA_MAX_SUBSCHEMAS); this one holds {subschemas}."
        )
    size = len(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode())
    if size > limits.max_bytes:
        raise InvalidSchema(
            f"A schema may be at most {limits.max_bytes} bytes as compact JSON"
            f" (EDN_SCHEMA_MAX_BYTES); this one is {size}."
        )


def _has_nul(value: object) -> bool:
    """U+0000 in any key or string: PostgreSQL's jsonb cannot store it."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    return isinstance(value, list) and any(map(_has_nul, value))


def parse(raw: object, limits: Limits) -> dict:
    """Return the valid schema document ``raw`` holds: JSON text (Confluent's form) or an
    object, within ``limits``."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as error:
            raise InvalidSchema(f"The schema is not JSON: {error}") from None
    return ensure_valid(raw, limits)


def ensure_valid(document: object, limits: Limits) -> dict:
    """Return ``document`` if it is a JSON Schema object (draft 2020-12) within ``limits``;
    raise otherwise."""
    if not isinstance(document, dict):
        raise InvalidSchema("A schema must be a JSON object.")
    ensure_within(document, limits)
    if _has_nul(document):
        raise InvalidSchema("A schema may not contain the character U+0000.")
    try:
        Draft202012Validator.check_schema(document)
    except SchemaError as error:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise InvalidSchema(f"Invalid JSON Schema at {where}: {error.message}") from None
    return document


def incompatibilities(
    subject: str, mode: str, new: dict, history: list[dict], numbers: list[int] | None = None
) -> list:
    """Return why ``new`` breaks ``mode`` against ``history`` (oldest first; ``numbers``: their
    version numbers); [] if it does not."""
    return check(new, history, Mode(mode), numbers)


def ensure_compatible(
    subject: str, mode: str, new: dict, history: list[dict], numbers: list[int] | None = None
) -> None:
    reasons = incompatibilities(subject, mode, new, history, numbers)
    if reasons:
        raise IncompatibleSchema(subject, mode, reasons)
