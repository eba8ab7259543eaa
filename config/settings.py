"""Django settings, read from the environment (django-environ).

Secure by default: DEBUG is off unless ``DJANGO_DEBUG=1``; outside DEBUG a secret key and a
token signing key must be given. See docs/configuration.md for every variable.
"""

import re
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from config.services import hosted_services

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off")
    SECRET_KEY = "dev-only-insecure-secret-key-never-use-in-production"
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

EDN_SERVICES = hosted_services(env.str("EDN_SERVICES", default=""))
EDN_DATA_DIR = Path(env.str("EDN_DATA_DIR", default=str(BASE_DIR / "data")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "axes",
    "edn_core",
    *EDN_SERVICES,
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "edn_core.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "edn_core.tracing.MessageContextMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database(alias: str) -> dict:
    """Read ``<ALIAS>_DATABASE_URL``; default to one SQLite file per alias under the data dir."""
    default_url = f"sqlite:///{EDN_DATA_DIR / (alias + '.sqlite3')}"
    config = env.db_url(f"{alias.upper()}_DATABASE_URL", default=default_url)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        # WAL + IMMEDIATE transactions: concurrent writers queue instead of failing "locked".
        config.setdefault("OPTIONS", {}).update(
            {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            }
        )
    else:
        config["CONN_MAX_AGE"] = env.int("EDN_DB_CONN_MAX_AGE", default=60)
        config["CONN_HEALTH_CHECKS"] = True
    return config


DATABASES = {alias: _database(alias) for alias in ("default", *EDN_SERVICES)}
DATABASE_ROUTERS = ["edn_core.routers.AppAliasRouter"]
# Each service app owns the alias named after it; everything else (auth, admin) uses default.
EDN_DATABASE_ROUTES = {app: app for app in EDN_SERVICES}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "edn_core.login_lockout.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = EDN_DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# Request bodies: the API refuses anything larger with 413 problem+json.
EDN_MAX_BODY_BYTES = env.int("EDN_MAX_BODY_BYTES", default=256 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = EDN_MAX_BODY_BYTES

# Security (docs/security.md). TLS ends at the ingress, which redirects HTTP to HTTPS and sets
# X-Forwarded-Proto; the pod itself speaks plain HTTP to its probes, its Dapr sidecar and the
# services that read the schema registry, so these come from env per environment.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
# Paths called only from inside the cluster, over plain HTTP, are never redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^dapr/"]
# Sent only on HTTPS requests (never to a plain-HTTP local run): a year unless DEBUG.
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
if env.bool("DJANGO_TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Proxies in front of the pod that append to X-Forwarded-For (an ingress: 1): the client's
# address, for the admin lockout, is the one the outermost of them saw.
EDN_TRUSTED_PROXY_COUNT = env.int("EDN_TRUSTED_PROXY_COUNT", default=0)
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

# The cache holds the API throttle's counts: local memory is per process, so a limit is per
# gunicorn worker until EDN_CACHE_URL names a shared cache (redis://host:6379/2).
CACHES = {"default": env.cache_url("EDN_CACHE_URL", default="locmemcache://")}
# Requests per token user, e.g. "1000/min" (s, min, hour, day); empty: no limit.
EDN_API_THROTTLE_RATE = env.str("EDN_API_THROTTLE_RATE", default="")
RATE_PERIODS = "s|sec|second|m|min|minute|h|hour|d|day"  # what DRF reads (by first letter)
if EDN_API_THROTTLE_RATE and not re.fullmatch(rf"\d+/({RATE_PERIODS})", EDN_API_THROTTLE_RATE):
    raise ImproperlyConfigured("EDN_API_THROTTLE_RATE must read like 1000/min (or empty)")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTStatelessUserAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["edn_core.cqrs.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "edn_core.cqrs.pagination.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "edn_core.cqrs.problems.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["edn_core.security.TokenRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}


# Tokens name their algorithm, but only the configured one is accepted ("none" never is).
JWT_ALGORITHMS = {f"{kind}{bits}" for kind in ("HS", "RS", "PS", "ES") for bits in (256, 384, 512)}


def _jwt_settings() -> dict:
    """HS256 with a shared key, or RS256/ES256 where only the issuer holds the private key."""
    algorithm = env.str("EDN_JWT_ALGORITHM", default="HS256")
    if algorithm not in JWT_ALGORITHMS:
        raise ImproperlyConfigured(f"EDN_JWT_ALGORITHM must be one of {sorted(JWT_ALGORITHMS)}")
    signing_key = env.str("EDN_JWT_SIGNING_KEY", default="", multiline=True)
    verifying_key = env.str("EDN_JWT_VERIFYING_KEY", default="", multiline=True)
    if algorithm.startswith("HS") and not signing_key:
        if not DEBUG:
            raise ImproperlyConfigured("EDN_JWT_SIGNING_KEY is required when DJANGO_DEBUG is off")
        signing_key = SECRET_KEY
    if algorithm.startswith("HS") and not DEBUG and len(signing_key.encode()) < 32:
        # RFC 7518 3.2: an HMAC key at least as long as the hash (256 bits for HS256).
        raise ImproperlyConfigured("EDN_JWT_SIGNING_KEY must be at least 32 bytes long")
    if not algorithm.startswith("HS") and not verifying_key:
        raise ImproperlyConfigured(
            f"EDN_JWT_VERIFYING_KEY (public key) is required for {algorithm}"
        )
    return {
        "ALGORITHM": algorithm,
        "SIGNING_KEY": signing_key,
        "VERIFYING_KEY": verifying_key or None,
        "ISSUER": env.str("EDN_JWT_ISSUER", default="event-driven-django"),
        "AUDIENCE": env.str("EDN_JWT_AUDIENCE", default="event-driven-django"),
        "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("EDN_JWT_LIFETIME_MINUTES", default=60)),
        "AUTH_HEADER_TYPES": ("Bearer",),
        "USER_ID_CLAIM": "user_id",
        "UPDATE_LAST_LOGIN": False,
    }


SIMPLE_JWT = _jwt_settings()

SPECTACULAR_SETTINGS = {
    "TITLE": "Event Driven Django",
    "DESCRIPTION": "Event-driven services: " + ", ".join(EDN_SERVICES),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The API description and its UI are public documentation; every operation still needs a token.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "DEFAULT_GENERATOR_CLASS": "edn_core.cqrs.openapi.SchemaGenerator",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Event bus: the transport, and the in-process relay used in one-process development.
EDN_BUS_TRANSPORT = env.str("EDN_BUS_TRANSPORT", default="local")
EDN_BUS = {
    "max_attempts": env.int("EDN_BUS_MAX_ATTEMPTS", default=5),
    "retry_base_seconds": env.float("EDN_BUS_RETRY_BASE_SECONDS", default=1.0),
    "retry_max_seconds": env.float("EDN_BUS_RETRY_MAX_SECONDS", default=300.0),
    "relay_batch": env.int("EDN_BUS_RELAY_BATCH", default=1000),
    "message_batch": env.int("EDN_BUS_MESSAGE_BATCH", default=100),
    "sweep_seconds": env.float("EDN_BUS_SWEEP_SECONDS", default=5.0),
    "inbox_ttl_days": env.int("EDN_BUS_INBOX_TTL_DAYS", default=7),
    "sent_retention_days": env.int("EDN_BUS_SENT_RETENTION_DAYS", default=7),
    # The in-process relay delivers only to this process: never the default for a process
    # hosting a subset of the apps, where it would mark events sent that others never got.
    "in_process": env.bool(
        "EDN_BUS_IN_PROCESS",
        default=EDN_BUS_TRANSPORT == "local" and set(EDN_SERVICES) == set(hosted_services("")),
    ),
}

# Dapr (EDN_BUS_TRANSPORT=dapr, docs/dapr.md): the sidecar's APIs, and the tokens each side
# sends (DAPR_API_TOKEN: app -> sidecar; APP_API_TOKEN: sidecar -> app, checked by /dapr/ routes).
# The relay publishes over gRPC with the Dapr SDK, or over HTTP (decision 0040); the SDK waits
# for the sidecar's HTTP health endpoint before its first call, at most
# EDN_DAPR_HEALTH_TIMEOUT_SECONDS (not the SDK's 60 s).
DAPR_HOST = env.str("DAPR_HOST", default="127.0.0.1")
DAPR_HTTP_PORT = env.int("DAPR_HTTP_PORT", default=3500)
DAPR_GRPC_PORT = env.int("DAPR_GRPC_PORT", default=50001)
DAPR_API_TOKEN = env.str("DAPR_API_TOKEN", default="")
EDN_DAPR_PUBLISH_API = env.str("EDN_DAPR_PUBLISH_API", default="grpc")
if EDN_DAPR_PUBLISH_API not in ("grpc", "http"):
    raise ImproperlyConfigured("EDN_DAPR_PUBLISH_API must be grpc or http")
EDN_DAPR_HEALTH_TIMEOUT_SECONDS = env.float("EDN_DAPR_HEALTH_TIMEOUT_SECONDS", default=5.0)
APP_API_TOKEN = env.str("APP_API_TOKEN", default="")
if EDN_BUS_TRANSPORT == "dapr" and not APP_API_TOKEN and not DEBUG:
    raise ImproperlyConfigured("APP_API_TOKEN is required with EDN_BUS_TRANSPORT=dapr")
EDN_DAPR_PUBSUB = env.str("EDN_DAPR_PUBSUB", default="pubsub")
EDN_DAPR_BULK_PUBLISH = env.bool("EDN_DAPR_BULK_PUBLISH", default=True)
EDN_DAPR_BULK_SUBSCRIBE = env.bool("EDN_DAPR_BULK_SUBSCRIBE", default=False)
EDN_DAPR_DEAD_LETTER_TOPIC = env.str("EDN_DAPR_DEAD_LETTER_TOPIC", default="{topic}.deadletter")
EDN_DAPR_TIMEOUT_SECONDS = env.float("EDN_DAPR_TIMEOUT_SECONDS", default=10.0)
EDN_DAPR_MAX_BODY_BYTES = env.int("EDN_DAPR_MAX_BODY_BYTES", default=4 * 1024 * 1024)

# Schema registry: hosted here (schema_registry in EDN_SERVICES) or reached over HTTP.
EDN_SCHEMA_REGISTRY_URL = env.str("EDN_SCHEMA_REGISTRY_URL", default="")
EDN_SCHEMA_REGISTRY_TOKEN = env.str("EDN_SCHEMA_REGISTRY_TOKEN", default="")
EDN_SCHEMA_VALIDATION = env.bool("EDN_SCHEMA_VALIDATION", default=True)
EDN_SCHEMA_LATEST_TTL = env.float("EDN_SCHEMA_LATEST_TTL", default=60.0)

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://")
# Prefix of the event exchange and queues on the broker (<namespace>.events, <namespace>.<app>).
EDN_BROKER_NAMESPACE = env.str("EDN_BROKER_NAMESPACE", default="edn")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis has no acks: kombu keeps a consumer's unacked messages aside and puts them back only
# once they are this old (its default is an hour, so the events a killed worker held waited
# an hour). A message redelivered while still in work is dropped by the inbox, so it can be
# short. Looked for every 10 s (kombu's interval, not every 10th one). RabbitMQ ignores it.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("EDN_BROKER_VISIBILITY_TIMEOUT", default=300),
    "unacked_restore_throttle": 1,
}
CELERY_BEAT_SCHEDULE = {
    "relay-outbox": {"task": "edn.relay_outbox", "schedule": EDN_BUS["sweep_seconds"]},
    "cleanup-bus": {"task": "edn.cleanup_bus", "schedule": 3600.0},
}
# how long a create-order saga step waits for its reply before it compensates
EDN_SAGA_STEP_TIMEOUT_SECONDS = env.float("EDN_SAGA_STEP_TIMEOUT_SECONDS", default=30.0)
if "sagas" in EDN_SERVICES:  # fail saga steps whose reply is overdue, and compensate
    CELERY_BEAT_SCHEDULE["saga-timeouts"] = {"task": "sagas.expire_overdue_steps", "schedule": 1.0}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("EDN_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
}
