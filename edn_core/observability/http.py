"""HTTP server metrics: the duration of every request by method, route and status
(``http_server_request_duration_seconds``). First in ``MIDDLEWARE``: it times the rest, and
it answers ``/metrics`` itself, before any middleware checks the Host header: Prometheus
scrapes a pod at its IP and cannot send another Host, which no ``ALLOWED_HOSTS`` lists (the
answer never uses the host; :mod:`.exposition` checks the token)."""

from __future__ import annotations

import time

from edn_core.cqrs.errors import API_NOT_FOUND
from edn_core.observability import metrics
from edn_core.observability.exposition import metrics_view

__all__ = ["RequestMetricsMiddleware"]

METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}
)


class RequestMetricsMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.on = metrics.enabled()

    def __call__(self, request):
        if request.path_info == "/metrics":
            return metrics_view(request)
        if not self.on:
            return self.get_response(request)
        start = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in METHODS else "_OTHER"
        metrics.child(
            metrics.HTTP_DURATION, method, route_of(request), str(response.status_code)
        ).observe(time.perf_counter() - start)
        return response


def route_of(request) -> str:
    """The URL pattern the request matched (``api/orders/<pk>``), never the path itself: the
    label's values stay few. ``unmatched`` for a request no pattern matched."""
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route or match.url_name == API_NOT_FOUND:
        return "unmatched"  # the API's catch-all answers 404 to what no route matched
    return match.route.replace("^", "").replace("$", "").replace("\\Z", "")
