"""Serving the metrics: ``/metrics`` on the web port, and a port of its own for the
processes without one (relays, consumers, stream processors: ``EDN_METRICS_PORT``).

``/metrics`` answers with a bearer token (``EDN_METRICS_TOKEN``) in production, to anyone in
development (``DJANGO_DEBUG=1``), and 404 in production without a token set. Under gunicorn
(``PROMETHEUS_MULTIPROC_DIR``, set by the platform's gunicorn settings) it adds up every
worker's figures. The web process also reports what it reads from the databases at scrape time
(:mod:`.collectors`); the metrics port of another process reports its own work only.
"""

from __future__ import annotations

import hmac
import logging
import os

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.registry import Collector

from edn_core.observability.collectors import DatabaseFigures

__all__ = ["metrics_view", "registry", "serve_port"]

logger = logging.getLogger(__name__)
_served: list = []


class _Own(Collector):
    """This process's own metrics (outside multiprocess mode)."""

    def collect(self):
        yield from REGISTRY.collect()


def registry(*, database: bool) -> CollectorRegistry:
    """A registry of this process's metrics (every worker's, in multiprocess mode), and the
    figures read from the databases if ``database``."""
    found = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client.multiprocess import MultiProcessCollector

        MultiProcessCollector(found)
    else:
        found.register(_Own())
    if database:
        found.register(DatabaseFigures())
    return found


@never_cache
@require_GET
def metrics_view(request):
    token = os.environ.get("EDN_METRICS_TOKEN", "")
    if not settings.DEBUG or token:
        given = request.headers.get("Authorization", "")
        if not token or not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise Http404()  # not "forbidden": the endpoint is not advertised
    return HttpResponse(generate_latest(registry(database=True)), content_type=CONTENT_TYPE_LATEST)


def serve_port() -> int | None:
    """Serve this process's metrics on ``EDN_METRICS_PORT`` (once); return the port."""
    port = os.environ.get("EDN_METRICS_PORT", "")
    if not port or _served:
        return _served[0] if _served else None
    from prometheus_client import start_http_server

    address = os.environ.get("EDN_METRICS_ADDRESS", "0.0.0.0")
    start_http_server(int(port), addr=address, registry=registry(database=False))
    _served.append(int(port))
    logger.info("metrics on %s:%s/metrics", address, port)
    return int(port)
