"""The development login (``admin`` / ``admin``, made by ``edn_demo`` with ``DEBUG`` on for
``scripts/run``) never opens a production admin: with ``DEBUG`` off its password is refused
at login, whoever's it is, and a system check warns about a user who still has it
(docs/security.md, "The development password")."""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied

__all__ = ["DEVELOPMENT_LOGINS", "RefuseDevelopmentPassword", "is_development_password"]

logger = logging.getLogger(__name__)
# username -> password, as scripts/run prints them; public, so never a production password
DEVELOPMENT_LOGINS = {"admin": "admin"}


def is_development_password(password: object) -> bool:
    """Whether ``password`` is one of the development logins' passwords."""
    if not isinstance(password, str):
        return False
    given = password.encode()
    return any(hmac.compare_digest(given, p.encode()) for p in DEVELOPMENT_LOGINS.values())


class RefuseDevelopmentPassword:
    """With ``DEBUG`` off, stop a login with a development password before any backend checks
    it: the login fails as a wrong password does (and counts toward the lockout).

    Only ``authenticate``: without ``get_user`` it is never the backend a session (or the
    test client's ``force_login``) is bound to, and it grants no permissions."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not settings.DEBUG and is_development_password(password):
            logger.warning("login refused: the development password, with DEBUG off")
            raise PermissionDenied  # Django's authenticate() tries no further backend
        return None
