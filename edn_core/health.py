"""Liveness (/healthz) and readiness (/readyz): no authentication, no sessions."""

import contextlib

from django.conf import settings
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

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


@never_cache
@require_GET
def readyz(request):
    """Answer 200 when every database alias (and the broker, if any) answers, else 503; the
    outbox backlog of each service alias beside."""
    failures = {
        f"database:{alias}": problem
        for alias in connections.settings
        if (problem := _check_database(alias)) is not None
    }
    if settings.EDN_BUS_TRANSPORT == "celery" and (problem := _check_broker()):
        failures["broker"] = problem
    body = {"status": "unavailable" if failures else "ok", "checks": failures or {}}
    if not failures:
        body["outbox"] = _outbox()
    return JsonResponse(body, status=503 if failures else 200)
