"""Compiled validators of registered schemas, two per schema, and the cache that keeps them.

jsonschema-rs (compiled, about a hundred times faster than the pure-Python validator) decides
every check first: on the consume path it is the only one that runs for valid data. Data it
refuses goes through ``jsonschema``, whose errors (paths and messages) are the ones reported
and whose verdict stands if the two ever disagree about a refusal. A schema jsonschema-rs
cannot compile (a reference it would have to fetch, say) is checked by ``jsonschema`` alone.
"""

from __future__ import annotations

import threading
import time

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker

__all__ = ["Checkers", "SchemaCache"]


def _no_fetching(uri: str):
    """Neither validator fetches remote references (``jsonschema`` does not by default)."""
    raise ValueError(f"remote schema references are not fetched: {uri}")


class Checkers:
    """Validators by schema id (registered versions are immutable: kept for the process)."""

    def __init__(self) -> None:
        self.fast: dict[int, object] = {}
        self.full: dict[int, Draft202012Validator] = {}

    def clear(self) -> None:
        """Forget every validator (the schema cache calls this under its own lock)."""
        self.fast.clear()
        self.full.clear()

    def prepare(self, schema_id: int, document: dict) -> None:
        """Compile the validator every check runs first, if not done yet."""
        self._fast(schema_id, document)

    def errors(self, schema_id: int, document: dict, data) -> dict[str, list[str]]:
        """``{data path: [messages]}`` of ``data`` against ``document``; {} when valid."""
        fast = self._fast(schema_id, document)
        try:
            if fast is not None and fast.is_valid(data):
                return {}
        except ValueError:  # a value that is not JSON (jsonschema-rs refuses to look at it)
            pass
        errors: dict[str, list[str]] = {}
        for error in self._full(schema_id, document).iter_errors(data):
            path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
            errors.setdefault(path.lstrip(".") or "(root)", []).append(error.message)
        return errors

    def _fast(self, schema_id: int, document: dict):
        try:
            return self.fast[schema_id]
        except KeyError:
            pass
        try:
            validator = jsonschema_rs.Draft202012Validator(
                document, validate_formats=True, retriever=_no_fetching
            )
        except Exception:  # e.g. a remote reference: the full check decides
            validator = None
        self.fast[schema_id] = validator
        return validator

    def _full(self, schema_id: int, document: dict) -> Draft202012Validator:
        validator = self.full.get(schema_id)
        if validator is None:
            validator = Draft202012Validator(document, format_checker=FormatChecker())
            self.full[schema_id] = validator
        return validator


class SchemaCache:
    """Fetched versions (immutable: kept for the process), "latest" with the time it was
    read, why the registry could not give a "latest" when asked last, and the validators."""

    def __init__(self) -> None:
        self.versions: dict[tuple[str, int], object] = {}
        self.latest: dict[str, tuple[float, object]] = {}
        self.refused: dict[str, tuple[float, Exception]] = {}
        self.checks = Checkers()
        self.lock = threading.Lock()

    def keep_latest(self, subject: str, schema) -> None:
        with self.lock:
            self.latest[subject] = (time.monotonic(), schema)
            self.refused.pop(subject, None)

    def latest_within(self, subject: str, seconds: float | None):
        """The kept latest of ``subject`` if read less than ``seconds`` ago (None: any age)."""
        read_at, schema = self.latest.get(subject, (None, None))
        fresh = read_at is not None and (seconds is None or time.monotonic() - read_at < seconds)
        return schema if fresh else None

    def refuse(self, subject: str, error: Exception) -> None:
        """Keep why the registry could not give the latest of ``subject`` (until it does)."""
        self.refused[subject] = (time.monotonic(), error)

    def refusal(self, subject: str, recent: bool = False) -> Exception | None:
        """Why the latest of ``subject`` was refused when asked last; ``recent``: only if
        that was less than the error's ``retry_after`` ago (ask again after that)."""
        refused_at, error = self.refused.get(subject, (None, None))
        if error is None or (recent and time.monotonic() - refused_at >= error.retry_after):
            return None
        return error

    def clear(self) -> None:
        with self.lock:
            self.versions.clear()
            self.latest.clear()
            self.refused.clear()
            self.checks.clear()
