"""Server-side conditions at the HTTP edge: each is a 503 with ``Retry-After`` (decision 0032).

A database outage arrives as the driver's error; the platform's own conditions (the schema
layer's) as plain :class:`~edn_core.conditions.ServerSideCondition`, mapped here and only here.
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status

from edn_core.conditions import ServerSideCondition

__all__ = ["DATABASE_OUTAGES", "DatabaseUnavailable", "ServiceUnavailable", "unavailable"]


class ServiceUnavailable(exceptions.APIException):
    """Raise for a server-side condition the client cannot fix: 503 with ``Retry-After``."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service cannot handle this request now; try again later."
    default_code = "service-unavailable"
    retry_after = 5  # seconds


# Connection refused or lost, a restart, a lock or statement timeout: never the client's fault.
DATABASE_OUTAGES = (OperationalError, InterfaceError)


class DatabaseUnavailable(ServiceUnavailable):
    # Never the driver's message: it names the host, the port and the database.
    default_detail = "The service's database is unavailable; try again later."
    default_code = "database-unavailable"


def unavailable(condition: ServerSideCondition) -> ServiceUnavailable:
    """The 503 a plain server-side condition answers: its message, problem type and wait."""
    error = ServiceUnavailable(condition.message)
    error.default_code, error.retry_after = condition.code, condition.retry_after
    return error
