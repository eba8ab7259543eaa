"""Django-level error handlers (no view matched, or a view crashed) as problem+json."""

from edn_core.cqrs.problems import django_problem

__all__ = ["bad_request", "not_found", "server_error"]


def bad_request(request, exception=None):
    return django_problem(400, "The request could not be understood.", "bad-request")


def not_found(request, exception=None):
    return django_problem(404, f"Nothing is served at {request.path}.", "not-found")


def server_error(request):
    return django_problem(500, "The server failed to handle this request.", "server-error")
