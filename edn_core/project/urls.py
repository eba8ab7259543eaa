"""The URLs of a project on the platform: health, admin, OpenAPI and AsyncAPI documents, each
hosted service app's ``urls`` under ``/api/``, and the Dapr sidecar's routes with that
transport. A project's ``urls.py`` is ``from edn_core.project.urls import *``.

The last pattern answers every other path under ``/api/`` with a 404 problem+json, in DEBUG
too (where Django would answer its HTML page): a project adding API routes of its own puts
them before it (``urlpatterns.insert(-1, ...)``)."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from edn_core.asyncapi import asyncapi_view
from edn_core.cqrs.errors import API_NOT_FOUND, not_found
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
# any method, no CSRF check: an unknown API route is 404 whatever is sent to it
urlpatterns.append(re_path(r"^api/", csrf_exempt(not_found), name=API_NOT_FOUND))

handler400 = "edn_core.cqrs.errors.bad_request"
handler404 = "edn_core.cqrs.errors.not_found"
handler500 = "edn_core.cqrs.errors.server_error"
