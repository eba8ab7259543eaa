"""Django-level error handlers (no view matched, or a view crashed) as problem+json."""

from django.urls import Resolver404, resolve

from edn_core.cqrs.problems import django_problem, server_problem

__all__ = ["API_NOT_FOUND", "bad_request", "not_found", "server_error"]

# The URL name of the catch-all that answers unknown paths under /api/ (edn_core.project.urls)
API_NOT_FOUND = "api-not-found"


def bad_request(request, exception=None):
    return django_problem(400, "The request could not be understood.", "bad-request")


def not_found(request, exception=None):
    path = request.path
    other = path.rstrip("/") if path.endswith("/") else f"{path}/"  # /api/customers/ is unknown
    hint = f"; did you mean {other}?" if other and _served(other) else "."
    return django_problem(404, f"Nothing is served at {path}{hint}", "not-found")


def _served(path: str) -> bool:
    try:
        return resolve(path).url_name != API_NOT_FOUND
    except Resolver404:
        return False


def server_error(request):
    return server_problem()  # 503 when the error is a server-side condition (database down)
