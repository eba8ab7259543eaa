"""Confluent's error codes, and the registry's problem+json responses that carry them.

A Confluent code is ``XXX`` or ``XXXYY`` where ``XXX`` is the HTTP status; every registry
error also carries ``error_code`` and ``message``, the members Confluent's clients read.
"""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.response import Response

from edn_core.cqrs import Outcome
from edn_core.cqrs.problems import problem

SUBJECT_NOT_FOUND = 40401
VERSION_NOT_FOUND = 40402
SCHEMA_NOT_FOUND = 40403
SUBJECT_SOFT_DELETED = 40404
SUBJECT_NOT_SOFT_DELETED = 40405
VERSION_SOFT_DELETED = 40406
VERSION_NOT_SOFT_DELETED = 40407
READER_NOT_FOUND = 40450  # this registry's own: no reader of that consumer for the subject
INCOMPATIBLE_SCHEMA = 40901
INVALID_SCHEMA = 42201
INVALID_VERSION = 42202
INVALID_COMPATIBILITY_LEVEL = 42203
INVALID_CONSUMER = 42250  # this registry's own: a consumer name it cannot hold
STORE_ERROR = 50001

SLUG = {
    INCOMPATIBLE_SCHEMA: "incompatible-schema",
    INVALID_SCHEMA: "invalid-schema",
    INVALID_VERSION: "invalid-version",
    INVALID_COMPATIBILITY_LEVEL: "invalid-compatibility-level",
    INVALID_CONSUMER: "invalid-consumer",
    STORE_ERROR: "schema-store-unavailable",
}
CODE_OF_OUTCOME = {
    Outcome.INVALID: INVALID_SCHEMA,
    Outcome.CONFLICT: INCOMPATIBLE_SCHEMA,
    Outcome.NOT_FOUND: SUBJECT_NOT_FOUND,
}


def status_of(code: int) -> int:
    """Return the HTTP status of a Confluent code (the store error is 503 here: retry later)."""
    if code == STORE_ERROR:
        return 503
    return code // 100 if code >= 1000 else code


def registry_problem(code: int, detail: str, **extra) -> Response:
    """Return a problem+json response for Confluent ``code`` (``errorCode``: the older name)."""
    status = status_of(code)
    slug = SLUG.get(code, "not-found" if status == 404 else None)
    return problem(status, detail, slug, errorCode=code, **extra)


def refused(result) -> Response:
    """Answer a refused registry command with its Confluent code."""
    code = result.details.get("code") or CODE_OF_OUTCOME[result.outcome]
    extra = {"conflicts": result.details["conflicts"]} if "conflicts" in result.details else {}
    return registry_problem(code, result.message, messages=result.details.get("reasons"), **extra)


class RegistryError(exceptions.APIException):
    """Raise in a registry view to answer with a Confluent error code."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.status_code = status_of(code)


def with_confluent_members(response: Response) -> Response:
    """Add ``error_code`` and ``message`` to a problem body, as Confluent's clients read them."""
    body = response.data
    if response.status_code >= 400 and isinstance(body, dict) and "detail" in body:
        body.setdefault("error_code", body.get("errorCode") or response.status_code)
        body.setdefault("message", body["detail"])
    return response
