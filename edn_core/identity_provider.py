"""Access tokens from an identity provider (Keycloak, Auth0, Entra ID): verified with the public
keys the provider publishes at its JWKS URL (``EDN_JWT_JWKS_URL``), kept in memory
(docs/security.md, "Tokens from an identity provider").

simplejwt's own JWKS support answers a provider it cannot reach with 401 (or a 500 for some
answers) and lets every unknown ``kid`` refetch the keys; here the keys are fetched at most
once per ``REFETCH_SECONDS`` outside their scheduled refresh, and a provider that cannot be
asked is a 503, the server's problem, never the client's.
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections.abc import Callable

import jwt
from django.conf import settings
from django.core.signals import setting_changed
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt import settings as simplejwt_settings
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.tokens import AccessToken

from edn_core.cqrs.unavailable import ServiceUnavailable

__all__ = [
    "IdentityProviderUnavailable",
    "ProviderAccessToken",
    "ProviderKeys",
    "ProviderTokenBackend",
    "provider_backend",
]

logger = logging.getLogger(__name__)
FETCH_TIMEOUT_SECONDS = 5  # a request waits at most this long for the provider
REFETCH_SECONDS = 10  # bounds the fetches that tokens naming unknown keys can cause
CACHE_SECONDS = 300  # EDN_JWT_JWKS_CACHE_SECONDS's default
USER_AGENT = "event-driven-django"  # urllib's own is refused by some CDNs in front of providers
FETCH_FAILURES = (jwt.PyJWTError, ValueError, OSError, http.client.HTTPException)


class IdentityProviderUnavailable(ServiceUnavailable):
    default_detail = (
        "The identity provider's keys cannot be fetched now, so the token cannot be verified; "
        "try again later."
    )
    default_code = "identity-provider-unavailable"
    retry_after = REFETCH_SECONDS


class ProviderKeys:
    """The provider's signing keys for ``algorithm``, by ``kid``: fetched on first use and
    again once ``lifespan`` seconds old; a ``kid`` not among them fetches them again, at most
    once per ``REFETCH_SECONDS`` (or ``lifespan``, if shorter). A failed fetch keeps the keys
    already held."""

    def __init__(
        self, url: str, algorithm: str, lifespan: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.url, self.algorithm, self.lifespan, self.clock = url, algorithm, lifespan, clock
        self.refetch_after = min(REFETCH_SECONDS, lifespan)
        self._client = jwt.PyJWKClient(
            url,
            cache_jwk_set=False,
            timeout=FETCH_TIMEOUT_SECONDS,
            headers={"User-Agent": USER_AGENT},
        )
        self._keys: dict[str, object] = {}
        self._fetched_at: float | None = None  # the last fetch that succeeded
        self._tried_at: float | None = None  # the last fetch, successful or not
        self._failing = False  # the last fetch failed
        self._lock = threading.Lock()  # concurrent requests share one fetch

    def key(self, kid: str) -> object:
        """The public key named ``kid``: raise :class:`LookupError` if the provider does not
        list it, :class:`IdentityProviderUnavailable` if it cannot be asked now."""
        with self._lock:
            now = self.clock()
            expired = self._fetched_at is None or now - self._fetched_at >= self.lifespan
            may_fetch = self._tried_at is None or now - self._tried_at >= self.refetch_after
            if (expired or kid not in self._keys) and may_fetch:
                self._fetch(now)
            if kid in self._keys:
                return self._keys[kid]
            if self._failing:  # the provider may have published kid since it last answered
                raise IdentityProviderUnavailable()
            raise LookupError(kid)

    def _fetch(self, now: float) -> None:
        self._tried_at, self._failing = now, True
        try:
            keys = self._signing_keys(self._client.fetch_data())
        except FETCH_FAILURES as error:
            logger.warning("identity provider keys at %s not fetched: %r", self.url, error)
            return
        self._keys, self._fetched_at, self._failing = keys, now, False

    def _signing_keys(self, answer) -> dict[str, object]:
        """The keys of a JWK set that can check this algorithm's signatures (a key whose type,
        ``use`` or ``alg`` says otherwise is left out); an answer without one is a failure."""
        listed = answer.get("keys") if isinstance(answer, dict) else None
        keys = {}
        for jwk in listed if isinstance(listed, list) else ():
            if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
                continue
            if jwk.get("use", "sig") != "sig" or jwk.get("alg", self.algorithm) != self.algorithm:
                continue
            try:
                keys[jwk["kid"]] = jwt.PyJWK(jwk, self.algorithm).key
            except jwt.PyJWTError:
                continue  # another key type (an RSA key where ES256 is configured)
        if not keys:
            raise jwt.PyJWKSetError(f"no {self.algorithm} signing key in the answer")
        return keys


class ProviderTokenBackend(TokenBackend):
    """simplejwt's checks of a token (algorithm, signature, issuer, audience, expiry), with
    the key named by the token's ``kid`` among the provider's."""

    def __init__(self, keys: ProviderKeys, audience, issuer, leeway=0) -> None:
        super().__init__(keys.algorithm, None, "", audience, issuer, None, leeway)
        self.keys = keys

    def get_verifying_key(self, token) -> object:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise TokenBackendError(_("Token is invalid")) from error
        kid = header.get("kid")
        # Checked before any key is fetched: a token the provider cannot have signed costs nothing.
        if header.get("alg") != self.algorithm or not isinstance(kid, str):
            raise TokenBackendError(_("Token is invalid"))
        try:
            return self.keys.key(kid)
        except LookupError as error:
            raise TokenBackendError(_("Token is invalid")) from error

    def decode(self, token, verify: bool = True) -> dict:
        try:
            return super().decode(token, verify)
        except jwt.PyJWTError as error:  # e.g. an EC key of another curve than the algorithm's
            raise TokenBackendError(_("Token is invalid")) from error


_backend: ProviderTokenBackend | None = None


def provider_backend() -> ProviderTokenBackend:
    """The backend of ``SIMPLE_JWT`` (its ``JWK_URL``), built once per process: its keys are
    fetched once for all requests."""
    global _backend
    if _backend is None:
        configured = simplejwt_settings.api_settings
        lifespan = settings.SIMPLE_JWT.get("EDN_JWK_CACHE_SECONDS", CACHE_SECONDS)
        keys = ProviderKeys(configured.JWK_URL, configured.ALGORITHM, lifespan)
        _backend = ProviderTokenBackend(
            keys, configured.AUDIENCE, configured.ISSUER, configured.LEEWAY
        )
    return _backend


def _forget_backend(*, setting: str, **kwargs) -> None:
    global _backend
    if setting == "SIMPLE_JWT":
        _backend = None


setting_changed.connect(_forget_backend)


class ProviderAccessToken(AccessToken):
    """An access token issued by the identity provider (``AUTH_TOKEN_CLASSES`` with
    ``EDN_JWT_JWKS_URL``)."""

    @property
    def token_backend(self) -> ProviderTokenBackend:
        return provider_backend()
