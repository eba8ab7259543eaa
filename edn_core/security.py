"""Security pieces Django does not ship: a Content-Security-Policy per kind of response, the
per-token API throttle (``EDN_API_THROTTLE_RATE``) and URLs fit for logs (docs/security.md).
The admin login lockout is in :mod:`edn_core.login_lockout`.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.http import HttpRequest
from rest_framework.throttling import SimpleRateThrottle

from edn_core.conf import edn_settings

__all__ = [
    "API_POLICY",
    "PAGE_POLICY",
    "ContentSecurityPolicyMiddleware",
    "TokenRateThrottle",
    "docs_policy",
    "redact_url",
]

# JSON and problem+json: nothing may load, nothing may frame it.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# HTML pages (the admin): scripts from this origin only (Django's admin has no inline
# script); inline styles allowed, as the project's admin pages lay out tables with them.
PAGE_POLICY = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def redact_url(url: str) -> str:
    """Return ``url`` with its password masked, fit for a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def _asset_origins() -> list[str]:
    """Where the page's assets come from when not from this origin: the origin of
    drf-spectacular's ``SWAGGER_UI_DIST`` and favicon, or of ``STATIC_URL`` for the files
    served from here (``SIDECAR``, the platform's setting)."""
    from drf_spectacular.settings import spectacular_settings

    hrefs = (spectacular_settings.SWAGGER_UI_DIST, spectacular_settings.SWAGGER_UI_FAVICON_HREF)
    urls = (settings.STATIC_URL if href == "SIDECAR" else str(href or "") for href in hrefs)
    return sorted({origin for url in urls if (origin := _origin(url))})


def docs_policy() -> str:
    """Return the policy of the Swagger UI page: scripts from files only (its start-up script
    is one, ``?script``), its inline style, and the origin of its assets if not this one."""
    assets = "".join(f" {origin}" for origin in _asset_origins())
    return (
        f"default-src 'none'; script-src 'self'{assets}; "
        f"style-src 'self' 'unsafe-inline'{assets}; img-src 'self' data:{assets}; "
        f"font-src 'self'{assets}; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def _is_docs_page(request: HttpRequest) -> bool:
    from drf_spectacular.views import SpectacularSwaggerView

    view = getattr(getattr(request, "resolver_match", None), "func", None)
    view_class = getattr(view, "view_class", None)
    return isinstance(view_class, type) and issubclass(view_class, SpectacularSwaggerView)


def _close_docs_opener(response) -> None:
    """drf-spectacular opens the page's opener policy for OAuth2 login popups; without an
    OAuth2 configuration (bearer tokens are pasted) the page keeps ``same-origin``."""
    from drf_spectacular.settings import spectacular_settings

    if not spectacular_settings.SWAGGER_UI_OAUTH2_CONFIG:
        response["Cross-Origin-Opener-Policy"] = settings.SECURE_CROSS_ORIGIN_OPENER_POLICY


class ContentSecurityPolicyMiddleware:
    """Give every response a ``Content-Security-Policy`` unless its view set one: the strict
    :data:`API_POLICY` for data, :data:`PAGE_POLICY` for HTML pages, :func:`docs_policy` for
    the Swagger UI page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" in response:
            return response
        html = response.get("Content-Type", "").startswith("text/html")
        if html and settings.DEBUG and response.status_code >= 500:
            return response  # Django's debug error page styles and scripts itself inline
        if _is_docs_page(request):
            response["Content-Security-Policy"] = docs_policy()
            _close_docs_opener(response)
        else:
            response["Content-Security-Policy"] = PAGE_POLICY if html else API_POLICY
        return response


class TokenRateThrottle(SimpleRateThrottle):
    """Limit each token's user to ``EDN_API_THROTTLE_RATE`` requests (``"1000/min"``; empty:
    no limit). Counts live in the ``default`` cache: per process with the local-memory cache,
    cluster-wide with a shared one (``EDN_CACHE_URL``). Requests without a token are not
    counted (they are refused before throttling, or are public documentation)."""

    scope = "token"

    def get_rate(self) -> str | None:
        # Read per request, so a changed setting counts (DRF freezes THROTTLE_RATES at import).
        return edn_settings().api_throttle_rate

    def get_cache_key(self, request, view) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": user.pk}
