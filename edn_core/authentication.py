"""Bearer-token authentication of the API: simplejwt's stateless verification (no user table
is read), in one class every service uses (docs/security.md)."""

from __future__ import annotations

from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication

__all__ = ["TokenAuthentication"]


class TokenAuthentication(JWTStatelessUserAuthentication):
    """A verified access token; ``request.auth`` holds its claims."""
