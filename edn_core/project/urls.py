"""The URLs of a project on the platform: health, admin, OpenAPI and AsyncAPI documents, each
hosted service app's ``urls`` under ``/api/``, and the Dapr sidecar's routes with that
transport. A project's ``urls.py`` is ``from edn_core.project.urls import *``."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from edn_core.asyncapi import asyncapi_view
from edn_core.dapr_app import urlpatterns as dapr_urlpatterns
from edn_core.health import healthz, readyz

__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # the start-up script is a file of its own (?script): the page's policy needs no inline script
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/asyncapi.json", asyncapi_view, name="asyncapi"),
    *[path("api/", include(f"{app}.urls")) for app in settings.EDN_SERVICES],
]
if settings.EDN_BUS_TRANSPORT == "dapr":  # the sidecar's routes: never served without Dapr
    urlpatterns += dapr_urlpatterns

handler400 = "edn_core.cqrs.errors.bad_request"
handler404 = "edn_core.cqrs.errors.not_found"
handler500 = "edn_core.cqrs.errors.server_error"
