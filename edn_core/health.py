"""Liveness (/healthz) and readiness (/readyz): no token needed, no sessions.

``/readyz`` tells anyone each check's name and whether it is ``ok`` or ``failing`` (the
status code is what the probes read); the error classes and the outbox figures go only to a
caller with a valid bearer token, or to anyone in development (``DJANGO_DEBUG=1``).
"""

import contextlib

from django.conf import settings
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from edn_core.authentication import TokenAuthentication

__all__ = ["healthz", "readyz"]


@never_cache
@require_GET
def healthz(request):
    """Answer 200 while the process can serve requests at all."""
    return JsonResponse({"status": "ok"})


def _check_database(alias: str) -> str | None:
    """Return the error class when ``alias`` does not answer (never the driver's message: it
    names the host, port and database); a failed connection is closed so the next probe
    connects afresh instead of reusing a broken one."""
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # any driver error means "not ready"
        with contextlib.suppress(Exception):
            connection.close()
        return type(error).__name__
    return None


def _check_broker() -> str | None:
    from edn_core.bus.transports.celery import broker_connection

    try:
        with broker_connection() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception as error:  # any transport error means "not ready"
        return type(error).__name__  # the message may name the broker's URL
    return None


def _outbox() -> dict:
    """Per alias: pending outbox rows and the oldest one's age (what ``edn_outbox`` and the
    metrics say). Reported, not judged: a backlog is the relay's matter, not this pod's."""
    from edn_core.bus.backlog import backlogs

    try:
        figures = backlogs(failures=False)
    except Exception:  # a database that answered a moment ago: the checks say so next time
        return {}
    return {
        f.alias: {"pending": f.pending, "oldestPendingAgeSeconds": round(f.oldest_pending_age, 3)}
        for f in figures
    }


def _shows_detail(request) -> bool:
    """Whether the caller may see error classes and figures: in development, or with a valid
    bearer token, verified as the API verifies it (the signature, then the revocation list the
    process holds)."""
    if settings.DEBUG:
        return True
    try:
        return TokenAuthentication().authenticate(request) is not None
    except Exception:  # a refused token, or one that cannot be checked now: as none at all
        return False


@never_cache
@require_GET
def readyz(request):
    """Answer 200 when every database alias (and the broker, if any) answers, else 503, with
    each check's status; to a caller who may see them, the failing checks' error classes, or
    the outbox backlog of each service alias when all is well."""
    errors = {f"database:{alias}": _check_database(alias) for alias in connections.settings}
    if settings.EDN_BUS_TRANSPORT == "celery":
        errors["broker"] = _check_broker()
    failing = {name: error for name, error in errors.items() if error is not None}
    body = {
        "status": "unavailable" if failing else "ok",
        "checks": {name: "failing" if name in failing else "ok" for name in errors},
    }
    if _shows_detail(request):
        body.update({"errors": failing} if failing else {"outbox": _outbox()})
    return JsonResponse(body, status=503 if failing else 200)
