"""Serve a command viewset and a query viewset under one URL space."""

from __future__ import annotations

from collections.abc import Callable

from django.urls import URLPattern, path
from django.views.decorators.csrf import csrf_exempt

from edn_core.cqrs.problems import django_problem

__all__ = ["resource", "route"]

COLLECTION = {"get": ("queries", "list"), "post": ("commands", "create")}
ITEM = {
    "get": ("queries", "retrieve"),
    "put": ("commands", "update"),
    "patch": ("commands", "partial_update"),
    "delete": ("commands", "destroy"),
}


def _method_dispatcher(views: dict[str, Callable]) -> Callable:
    allowed = ", ".join(sorted({*views, "OPTIONS"} | ({"HEAD"} if "GET" in views else set())))

    @csrf_exempt
    def dispatch(request, *args, **kwargs):
        method = "GET" if request.method == "HEAD" else request.method
        view = views.get(method)
        if view is None and method == "OPTIONS" and views:
            view = next(iter(views.values()))  # any APIView answers OPTIONS
        if view is None:
            response = django_problem(
                405, f"Method {request.method} is not allowed here.", "method-not-allowed"
            )
            response["Allow"] = allowed
            return response
        response = view(request, *args, **kwargs)
        if response.has_header("Allow"):  # each viewset knows only its own methods
            response["Allow"] = allowed
        return response

    # The OpenAPI generator expands this back into one operation per method and viewset.
    dispatch.method_views = views
    return dispatch


def _views(table: dict, viewsets: dict) -> dict[str, Callable]:
    views = {}
    for method, (side, action) in table.items():
        viewset = viewsets[side]
        if viewset is not None and hasattr(viewset, action):
            views[method.upper()] = viewset.as_view({method: action})
    return views


def resource(
    prefix: str,
    *,
    commands=None,
    queries=None,
    basename: str,
    actions: tuple[str, ...] = (),
    views: tuple[str, ...] = (),
) -> list[URLPattern]:
    """Return URL patterns for ``prefix``, ``prefix/<uuid:pk>`` and ``prefix/<uuid:pk>/<action>``.

    GET goes to ``queries`` (list / retrieve); POST, PUT, PATCH and DELETE go to ``commands``
    (create / update / partial_update / destroy), for whichever actions each viewset defines.
    Each name in ``actions`` is a POST-only command route served by the method of that name;
    each name in ``views`` a GET-only query route (``prefix/<uuid:pk>/<name>``) of ``queries``.
    """
    sides = {"commands": commands, "queries": queries}
    patterns = [
        path(prefix, _method_dispatcher(_views(COLLECTION, sides)), name=f"{basename}-list"),
        path(
            f"{prefix}/<uuid:pk>",
            _method_dispatcher(_views(ITEM, sides)),
            name=f"{basename}-detail",
        ),
    ]
    for action in actions:
        view = _method_dispatcher({"POST": commands.as_view({"post": action})})
        patterns.append(path(f"{prefix}/<uuid:pk>/{action}", view, name=f"{basename}-{action}"))
    for name in views:
        view = _method_dispatcher({"GET": queries.as_view({"get": name})})
        patterns.append(path(f"{prefix}/<uuid:pk>/{name}", view, name=f"{basename}-{name}"))
    return patterns


def route(pattern: str, name: str, **method_views: Callable) -> URLPattern:
    """Serve ``pattern`` with one view per HTTP method (``GET=…, POST=…``), e.g. a query
    view and a command view sharing a path."""
    return path(
        pattern, _method_dispatcher({m.upper(): v for m, v in method_views.items()}), name=name
    )
