"""Bearer-token authentication of the API: simplejwt's stateless verification (no user table
is read), in one class every service uses (docs/security.md), then the revocation list of the
service: a token of a revoked subject issued before its revocation is refused."""

from __future__ import annotations

from functools import cache

from django.apps import apps
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication

from edn_core.conf import edn_settings

__all__ = ["TokenAuthentication", "TokenRevoked", "refuse_if_revoked"]


class TokenRevoked(AuthenticationFailed):
    default_detail = "This token was revoked."
    default_code = "token-revoked"


class TokenAuthentication(JWTStatelessUserAuthentication):
    """A verified access token that is not revoked; ``request.auth`` holds its claims."""

    def get_validated_token(self, raw_token):
        token = super().get_validated_token(raw_token)
        refuse_if_revoked(token)
        return token


def refuse_if_revoked(claims) -> None:
    """Raise :class:`TokenRevoked` when the token's subject (``sub``, else ``username``) was
    revoked after the token was issued (``iat``; a token without one counts as issued before).
    ``iat`` counts whole seconds: a token issued in the second of a revocation, after it, is
    refused too."""
    subject = claims.get("sub") or claims.get("username")
    if not isinstance(subject, str) or not _revocations_installed():
        return
    from edn_core.revocations.cache import revocation_list

    not_before = revocation_list.not_before(subject, edn_settings().revocations.refresh_seconds)
    if not_before is None:
        return
    issued = claims.get("iat")
    if isinstance(issued, int | float) and not isinstance(issued, bool) and issued >= not_before:
        return
    raise TokenRevoked()


@cache
def _revocations_installed() -> bool:
    """A project that leaves the app out of INSTALLED_APPS keeps stateless tokens only."""
    return apps.is_installed("edn_core.revocations")
