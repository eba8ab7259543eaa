"""Django-level error handlers (no view matched, or a view crashed) as problem+json."""

from edn_core.cqrs.problems import django_problem, server_problem

__all__ = ["bad_request", "not_found", "server_error"]


def bad_request(request, exception=None):
    return django_problem(400, "The request could not be understood.", "bad-request")


def not_found(request, exception=None):
    return django_problem(404, f"Nothing is served at {request.path}.", "not-found")


def server_error(request):
    return server_problem()  # 503 when the error is a server-side condition (database down)
