"""What a 401 or 403 problem says: one plain sentence, whatever the authentication library put
in the exception (simplejwt's token errors carry a dict, one of them with a list of messages
per token class; ``str()`` of that is a Python repr)."""

from __future__ import annotations

from django.utils.translation import gettext
from rest_framework import exceptions

__all__ = ["EXPIRED", "INVALID", "MISSING", "refusal_detail"]

MISSING = "The bearer token is missing."
EXPIRED = "The bearer token has expired."
INVALID = "The bearer token is invalid."
FORBIDDEN = str(exceptions.PermissionDenied.default_detail)


def refusal_detail(exc: exceptions.APIException) -> str:
    """Return the ``detail`` of a 401 or 403 problem for ``exc``: simplejwt's own sentence
    where it is a plain one (``User is inactive.``), ours where it is not."""
    if isinstance(exc, exceptions.NotAuthenticated):
        return MISSING
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
