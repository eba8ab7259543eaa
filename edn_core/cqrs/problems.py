"""RFC 9457 problem details: the single place where errors become HTTP responses."""

from __future__ import annotations

import logging
import re
import sys
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from edn_core.conditions import ServerSideCondition
from edn_core.cqrs.messages import CommandResult, Outcome
from edn_core.cqrs.refusals import refusal_detail
from edn_core.cqrs.unavailable import (
    DATABASE_OUTAGES,
    DatabaseUnavailable,
    ServiceUnavailable,
    unavailable,
)

__all__ = [
    "DATABASE_OUTAGES",
    "PROBLEM_CONTENT_TYPE",
    "DatabaseUnavailable",
    "PreconditionFailed",
    "PreconditionRequired",
    "RequestTooLarge",
    "ServiceUnavailable",
    "exception_handler",
    "problem",
    "problem_for_result",
    "server_problem",
]

logger = logging.getLogger(__name__)
PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE = "urn:edn:problem:{}"

STATUS_OF_OUTCOME = {
    Outcome.INVALID: status.HTTP_400_BAD_REQUEST,
    Outcome.NOT_FOUND: status.HTTP_404_NOT_FOUND,
    Outcome.CONFLICT: status.HTTP_409_CONFLICT,
    Outcome.INVALID_STATE: status.HTTP_409_CONFLICT,
    Outcome.PRECONDITION_FAILED: status.HTTP_412_PRECONDITION_FAILED,
}
SLUG_OF_OUTCOME = {
    Outcome.INVALID: "invalid-input",
    Outcome.NOT_FOUND: "not-found",
    Outcome.CONFLICT: "conflict",
    Outcome.INVALID_STATE: "invalid-state",
    Outcome.PRECONDITION_FAILED: "precondition-failed",
}


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body is too large."
    default_code = "request-too-large"


class PreconditionRequired(exceptions.APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = "This request must carry an If-Match header with the resource's ETag."
    default_code = "precondition-required"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource changed since the ETag given in If-Match."
    default_code = "precondition-failed"


def _flatten(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error structure into ``{"a.b[0].c": [messages]}``."""
    if isinstance(errors, dict):
        flat: dict[str, list[str]] = {}
        for key, value in errors.items():
            if isinstance(key, int):  # ListField reports items by index
                flat.update(_flatten(value, f"{prefix}[{key}]"))
                continue
            name = "" if key == "non_field_errors" else str(key)
            path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            flat.update(_flatten(value, path))
        return flat
    if isinstance(errors, list) and any(isinstance(item, (dict, list)) for item in errors):
        flat = {}
        for index, item in enumerate(errors):
            flat.update(_flatten(item, f"{prefix}[{index}]"))
        return flat
    messages = errors if isinstance(errors, list) else [errors]
    return {prefix or "": [str(message) for message in messages]} if messages else {}


def problem_body(status_code: int, detail: str, slug: str | None = None, **extra: Any) -> dict:
    body = {
        "type": PROBLEM_TYPE.format(slug) if slug else "about:blank",
        "title": HTTPStatus(status_code).phrase,
        "status": status_code,
        "detail": detail,
    }
    body.update({key: value for key, value in extra.items() if value})
    return body


def _retry_later(response, status_code: int, seconds: float | None = None):
    """Every 503 says when to come back (an exception's own ``retry_after`` overrides it)."""
    if status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        response["Retry-After"] = str(int(seconds or ServiceUnavailable.retry_after))
    return response


def problem(status_code: int, detail: str, slug: str | None = None, **extra: Any) -> Response:
    """Return a problem+json DRF response; ``extra`` adds members such as ``errors``."""
    body = problem_body(status_code, detail, slug, **extra)
    response = Response(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)
    return _retry_later(response, status_code)


def django_problem(
    status_code: int, detail: str, slug: str | None = None, retry_after: float | None = None
) -> JsonResponse:
    """Return a problem+json response outside DRF (URL resolver errors, method dispatch)."""
    body = problem_body(status_code, detail, slug)
    response = JsonResponse(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)
    return _retry_later(response, status_code, retry_after)


def server_problem() -> JsonResponse:
    """Answer the error no view handled (Django's handler500): 503 for a server-side
    condition such as a database outage (in a middleware, a view outside DRF), else 500."""
    error = sys.exc_info()[1]
    if isinstance(error, DATABASE_OUTAGES):
        error = DatabaseUnavailable()
    elif isinstance(error, ServerSideCondition):
        error = unavailable(error)
    if not isinstance(error, ServiceUnavailable):
        return django_problem(500, "The server failed to handle this request.", "server-error")
    detail, seconds = str(error.detail), error.retry_after
    return django_problem(error.status_code, detail, error.default_code, seconds)


def _camel_path(path: str) -> str:
    """``shipping_address.postal_code`` -> ``shippingAddress.postalCode`` (the API's names)."""
    return re.sub(r"_([a-z0-9])", lambda match: match.group(1).upper(), path)


def problem_for_result(result: CommandResult) -> Response:
    """Map a refused command to its HTTP problem: the one outcome-to-status table."""
    code = STATUS_OF_OUTCOME[result.outcome]
    errors = {_camel_path(path): messages for path, messages in result.errors.items()}
    return problem(code, result.message, SLUG_OF_OUTCOME[result.outcome], errors=errors)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF exception handler answering every error as problem+json."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DATABASE_OUTAGES):
        logger.warning("database unavailable in %s: %r", context.get("view"), exc)
        exc = DatabaseUnavailable()
    elif isinstance(exc, ServerSideCondition):
        exc = unavailable(exc)
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge(
            f"Request body exceeds the limit of {settings.EDN_MAX_BODY_BYTES} bytes."
        )
    if not isinstance(exc, exceptions.APIException):
        logger.exception("unhandled error in %s", context.get("view"))
        return problem(500, "The server failed to handle this request.", "server-error")
    slug = str(exc.default_code).replace("_", "-")
    if isinstance(exc, exceptions.ValidationError):
        response = problem(
            400, "The request has invalid fields.", "invalid-input", errors=_flatten(exc.detail)
        )
    elif exc.status_code in (401, 403):  # a plain sentence, never the library's structure
        authorization = getattr(context.get("request"), "META", {}).get("HTTP_AUTHORIZATION")
        response = problem(exc.status_code, refusal_detail(exc, authorization or ""), slug)
    else:
        detail = exc.detail
        detail = detail.get("detail", detail) if isinstance(detail, dict) else detail
        response = problem(exc.status_code, str(detail), slug)
    if getattr(exc, "auth_header", None):
        response["WWW-Authenticate"] = exc.auth_header
    if wait := getattr(exc, "retry_after", None) or getattr(exc, "wait", None):  # or throttled
        response["Retry-After"] = str(int(wait))
    return response
