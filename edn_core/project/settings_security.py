"""Security settings: HTTPS behind an ingress, cookies, HSTS, admin login lockout, and the
API's authentication (JWT), throttling and documentation. docs/security.md explains each."""

import re
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

from edn_core.project.settings_bus import upper_names

__all__ = ["api_settings", "security_settings"]

# Tokens name their algorithm, but only the configured one is accepted ("none" never is).
JWT_ALGORITHMS = {f"{kind}{bits}" for kind in ("HS", "RS", "PS", "ES") for bits in (256, 384, 512)}
RATE_PERIODS = "s|sec|second|m|min|minute|h|hour|d|day"  # what DRF reads (by first letter)


def security_settings(env, debug: bool) -> dict:
    # TLS ends at the ingress, which redirects HTTP to HTTPS and sets X-Forwarded-Proto; the
    # pod itself speaks plain HTTP to its probes, its Dapr sidecar and the services that read
    # the schema registry, so these come from env per environment.
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not debug)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
    # Paths called only from inside the cluster, over plain HTTP, are never redirected.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^dapr/"]
    # Sent only on HTTPS requests (never to a plain-HTTP local run): a year unless DEBUG.
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if debug else 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
    if env.bool("DJANGO_TRUST_X_FORWARDED_PROTO", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Proxies in front of the pod that append to X-Forwarded-For (an ingress: 1): the client's
    # address, for the admin lockout, is the one the outermost of them saw.
    EDN_TRUSTED_PROXY_COUNT = env.int("EDN_TRUSTED_PROXY_COUNT", default=0)
    # Wraps the per-subject keys of personal data in events (docs/forgetting-personal-data.md):
    # base64 of 32 bytes, from a secret; empty keeps them unwrapped in the service's database.
    EDN_PERSONAL_DATA_KEY = env.str("EDN_PERSONAL_DATA_KEY", default="")
    SILENCED_SYSTEM_CHECKS = [
        # HSTS preload is a commitment of a whole registrable domain (example.com) made at
        # hstspreload.org, which a service on api.example.com cannot make; set
        # DJANGO_SECURE_HSTS_PRELOAD=1 where the domain's owner did.
        "security.W021",
    ]
    if env.bool("DJANGO_HTTPS_REDIRECT_AT_PROXY", default=False) and not SECURE_SSL_REDIRECT:
        # The ingress redirects HTTP to HTTPS; the pod must not, as its in-cluster callers
        # (the registry's clients among them) speak plain HTTP.
        SILENCED_SYSTEM_CHECKS.append("security.W008")
    # django-axes first: it refuses a locked-out login before any password is checked; then,
    # with DEBUG off, a login with the development password (admin/admin) is refused.
    AUTHENTICATION_BACKENDS = [
        "edn_core.login_lockout.LoginLockoutBackend",
        "edn_core.development_password.RefuseDevelopmentPassword",
        "django.contrib.auth.backends.ModelBackend",
    ]
    AUTH_PASSWORD_VALIDATORS = [
        {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
        {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
        {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    ]
    # Admin login lockout (django-axes; its attempts live in the default alias): a username
    # failing EDN_ADMIN_LOGIN_FAILURE_LIMIT times from one address is refused (429) for the
    # cool-off; `manage.py axes_reset` (or axes_reset_username USER) lifts it at once.
    AXES_ENABLED = env.bool("EDN_ADMIN_LOGIN_LOCKOUT", default=True)
    AXES_FAILURE_LIMIT = env.int("EDN_ADMIN_LOGIN_FAILURE_LIMIT", default=5)
    AXES_COOLOFF_TIME = timedelta(minutes=env.float("EDN_ADMIN_LOGIN_COOLOFF_MINUTES", default=15))
    AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
    AXES_RESET_ON_SUCCESS = True
    AXES_CLIENT_IP_CALLABLE = "edn_core.login_lockout.client_ip"
    AXES_LOCKOUT_CALLABLE = "edn_core.login_lockout.lockout_response"
    return upper_names(locals())


def api_settings(env, debug: bool, secret_key: str, title: str, hosted: list[str]) -> dict:
    # Request bodies: the API refuses anything larger with 413 problem+json.
    EDN_MAX_BODY_BYTES = env.int("EDN_MAX_BODY_BYTES", default=256 * 1024)
    DATA_UPLOAD_MAX_MEMORY_SIZE = EDN_MAX_BODY_BYTES
    # The cache holds the API throttle's counts: local memory is per process, so a limit is per
    # gunicorn worker until EDN_CACHE_URL names a shared cache (redis://host:6379/2).
    CACHES = {"default": env.cache_url("EDN_CACHE_URL", default="locmemcache://")}
    # Requests per token user, e.g. "1000/min" (s, min, hour, day); empty: no limit.
    EDN_API_THROTTLE_RATE = env.str("EDN_API_THROTTLE_RATE", default="")
    if EDN_API_THROTTLE_RATE and not re.fullmatch(rf"\d+/({RATE_PERIODS})", EDN_API_THROTTLE_RATE):
        raise ImproperlyConfigured("EDN_API_THROTTLE_RATE must read like 1000/min (or empty)")
    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "edn_core.authentication.TokenAuthentication",
        ],
        "DEFAULT_PERMISSION_CLASSES": ["edn_core.scopes.HasScope"],
        "DEFAULT_PARSER_CLASSES": ["edn_core.cqrs.parsers.BoundedJSONParser"],
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "DEFAULT_PAGINATION_CLASS": "edn_core.cqrs.pagination.Pagination",
        "PAGE_SIZE": 50,
        "EXCEPTION_HANDLER": "edn_core.cqrs.problems.exception_handler",
        "DEFAULT_THROTTLE_CLASSES": ["edn_core.security.TokenRateThrottle"],
        "DEFAULT_SCHEMA_CLASS": "edn_core.cqrs.openapi_security.ScopedAutoSchema",
        "UNAUTHENTICATED_USER": None,
    }
    SIMPLE_JWT = _jwt_settings(env, debug, secret_key)
    # The claims a token's scopes are read from (edn_core.scopes): Entra ID's app-only tokens
    # carry them in "roles", Auth0's RBAC in "permissions".
    EDN_JWT_SCOPE_CLAIMS = tuple(env.list("EDN_JWT_SCOPE_CLAIMS", default=["scope", "scp"]))
    SPECTACULAR_SETTINGS = {
        "TITLE": title,
        "DESCRIPTION": "Event-driven services: " + ", ".join(hosted),
        "VERSION": "0.1.0",
        "SERVE_INCLUDE_SCHEMA": False,
        # The API description and its UI are public documentation; operations still need a token.
        "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
        "SERVE_AUTHENTICATION": [],
        "DEFAULT_GENERATOR_CLASS": "edn_core.cqrs.openapi.SchemaGenerator",
        "COMPONENT_SPLIT_REQUEST": True,
        # Swagger UI's files come with the service (static files), not from a CDN: the page
        # works without Internet and its policy allows this origin only (docs/security.md).
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    }
    return upper_names(locals())


def _jwt_settings(env, debug: bool, secret_key: str) -> dict:
    """HS256 with a shared key, RS256/ES256 where only the issuer holds the private key, or
    an identity provider's tokens checked with the keys at its JWKS URL."""
    jwks_url = env.str("EDN_JWT_JWKS_URL", default="")
    algorithm = env.str("EDN_JWT_ALGORITHM", default="RS256" if jwks_url else "HS256")
    if algorithm not in JWT_ALGORITHMS:
        raise ImproperlyConfigured(f"EDN_JWT_ALGORITHM must be one of {sorted(JWT_ALGORITHMS)}")
    signing_key = env.str("EDN_JWT_SIGNING_KEY", default="", multiline=True)
    verifying_key = env.str("EDN_JWT_VERIFYING_KEY", default="", multiline=True)
    provider = (
        _identity_provider(env, debug, jwks_url, algorithm, verifying_key) if jwks_url else {}
    )
    if algorithm.startswith("HS") and not signing_key:
        if not debug:
            raise ImproperlyConfigured("EDN_JWT_SIGNING_KEY is required when DJANGO_DEBUG is off")
        signing_key = secret_key
    if algorithm.startswith("HS") and not debug and len(signing_key.encode()) < 32:
        # RFC 7518 3.2: an HMAC key at least as long as the hash (256 bits for HS256).
        raise ImproperlyConfigured("EDN_JWT_SIGNING_KEY must be at least 32 bytes long")
    if not algorithm.startswith("HS") and not verifying_key and not jwks_url:
        raise ImproperlyConfigured(
            f"EDN_JWT_VERIFYING_KEY (public key) or EDN_JWT_JWKS_URL is required for {algorithm}"
        )
    return {
        "ALGORITHM": algorithm,
        "SIGNING_KEY": signing_key,
        "VERIFYING_KEY": verifying_key or None,
        "ISSUER": env.str("EDN_JWT_ISSUER", default="event-driven-django"),
        "AUDIENCE": env.str("EDN_JWT_AUDIENCE", default="event-driven-django"),
        "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("EDN_JWT_LIFETIME_MINUTES", default=60)),
        "AUTH_HEADER_TYPES": ("Bearer",),
        "USER_ID_CLAIM": env.str("EDN_JWT_USER_ID_CLAIM", default="sub" if jwks_url else "user_id"),
        # A provider's clock is another machine's: its fresh tokens may read as issued ahead.
        "LEEWAY": env.int("EDN_JWT_LEEWAY_SECONDS", default=10 if jwks_url else 0),
        "UPDATE_LAST_LOGIN": False,
        **provider,
    }


def _identity_provider(env, debug: bool, url: str, algorithm: str, verifying_key: str) -> dict:
    """Provider tokens name the user in ``sub`` and carry no ``token_type`` and maybe no ``jti``."""
    if algorithm.startswith("HS") or verifying_key:
        raise ImproperlyConfigured(
            "EDN_JWT_JWKS_URL needs an RS, PS or ES EDN_JWT_ALGORITHM and no EDN_JWT_VERIFYING_KEY"
        )
    # The keys decide who may call the API: over plain HTTP, anyone on the path could swap them.
    if not url.startswith("https://") and not (debug and url.startswith("http://")):
        raise ImproperlyConfigured("EDN_JWT_JWKS_URL must be an https:// URL")
    if not env.str("EDN_JWT_ISSUER", default="") or not env.str("EDN_JWT_AUDIENCE", default=""):
        raise ImproperlyConfigured(
            "EDN_JWT_JWKS_URL needs EDN_JWT_ISSUER and EDN_JWT_AUDIENCE (the provider's issuer, "
            "this API's audience)"
        )
    lifespan = env.int("EDN_JWT_JWKS_CACHE_SECONDS", default=300)
    if lifespan < 1:
        raise ImproperlyConfigured("EDN_JWT_JWKS_CACHE_SECONDS must be at least 1")
    return {
        "JWK_URL": url,
        "EDN_JWK_CACHE_SECONDS": lifespan,
        "AUTH_TOKEN_CLASSES": ("edn_core.identity_provider.ProviderAccessToken",),
        "TOKEN_TYPE_CLAIM": None,
        "JTI_CLAIM": None,
    }
