"""The admin login lockout (django-axes; docs/security.md): the authentication backend, the
client address behind trusted proxies (``EDN_TRUSTED_PROXY_COUNT``) and the lockout answer.

Imported only once the apps are loaded (django-axes' backend needs its models).
"""

from __future__ import annotations

import math

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from edn_core.conf import edn_settings

__all__ = ["LoginLockoutBackend", "client_ip", "lockout_response"]


def client_ip(request: HttpRequest) -> str | None:
    """Return the client's address (django-axes' ``AXES_CLIENT_IP_CALLABLE``): ``REMOTE_ADDR``,
    or behind ``EDN_TRUSTED_PROXY_COUNT`` proxies the address the outermost of them saw.

    Each proxy appends the address it received from to ``X-Forwarded-For``, so only the last
    ``count`` entries are trustworthy; anything before them is whatever the client wrote.
    """
    count = edn_settings().trusted_proxy_count
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    forwarded = [hop.strip() for hop in header.split(",") if hop.strip()]
    if count and len(forwarded) >= count:
        return forwarded[-count]
    return request.META.get("REMOTE_ADDR")


class LoginLockoutBackend(AxesStandaloneBackend):
    """Refuse a locked-out login (django-axes) made over HTTP, before any password check.

    ``authenticate()`` called without a request comes from code (a management command, the
    test client's ``login``), not from a client: it has no address to lock out, so it goes
    on to the next backend instead of failing as django-axes' own backend does.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """Answer a locked-out admin login (django-axes' ``AXES_LOCKOUT_CALLABLE``): its status
    (429) and message, and ``Retry-After`` with the cool-off period."""
    from axes.helpers import get_cool_off, get_lockout_message

    response = HttpResponse(
        get_lockout_message(),
        status=settings.AXES_HTTP_RESPONSE_CODE,
        content_type="text/plain; charset=utf-8",
    )
    if cool_off := get_cool_off(request):
        response["Retry-After"] = str(math.ceil(cool_off.total_seconds()))
    return response
