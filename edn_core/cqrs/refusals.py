"""What a 401 or 403 problem says: one plain sentence, whatever the authentication library put
in the exception (simplejwt's token errors carry a dict, one of them with a list of messages
per token class; ``str()`` of that is a Python repr)."""

from __future__ import annotations

import re

from django.utils.translation import gettext
from rest_framework import exceptions

__all__ = ["EXPIRED", "INVALID", "MISSING", "WRONG_SCHEME", "refusal_detail"]

MISSING = "The bearer token is missing."
EXPIRED = "The bearer token has expired."
INVALID = "The bearer token is invalid."
WRONG_SCHEME = (
    "The Authorization header must use the Bearer scheme{0}: Authorization: Bearer followed by "
    "a space and the token."
)
FORBIDDEN = str(exceptions.PermissionDenied.default_detail)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,19}")  # a scheme's name (never a token) is echoed


def refusal_detail(exc: exceptions.APIException, authorization: str = "") -> str:
    """Return the ``detail`` of a 401 or 403 problem for ``exc``: simplejwt's own sentence
    where it is a plain one (``User is inactive.``), ours where it is not. ``authorization``
    is the request's header: one in another scheme (``JWT …``) is told to use Bearer."""
    if isinstance(exc, exceptions.NotAuthenticated):
        return _wrong_scheme(authorization) if authorization.strip() else MISSING
    detail = exc.detail
    if isinstance(detail, dict):
        if isinstance(detail.get("messages"), list):  # no token class accepted the token
            return EXPIRED if _expired(detail["messages"]) else INVALID
        detail = detail.get("detail")
    if isinstance(detail, str) and detail.strip() and not set(detail) & set("{}[]"):
        return _sentence(detail)
    return INVALID if exc.status_code == 401 else FORBIDDEN


def _expired(messages: list) -> bool:
    """Whether a token class refused the token for its ``exp`` alone (simplejwt's words)."""
    expired = gettext("Token is expired")
    return any(isinstance(m, dict) and str(m.get("message")) == expired for m in messages)


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _wrong_scheme(authorization: str) -> str:
    scheme = authorization.split()[0]
    return WRONG_SCHEME.format(f", not {scheme}" if _SCHEME.fullmatch(scheme) else "")
