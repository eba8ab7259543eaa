"""Django settings of a project on the platform, read from the environment (django-environ).

Secure by default: DEBUG is off unless ``DJANGO_DEBUG=1``; outside DEBUG a secret key and a
token signing key must be given. docs/configuration.md lists every variable.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

from edn_core.observability.logs import logging_config
from edn_core.project.services import hosted_services
from edn_core.project.settings_bus import bus_settings, upper_names
from edn_core.project.settings_security import api_settings, security_settings

__all__ = ["platform_settings"]


def platform_settings(
    base_dir: Path,
    services: Sequence[str],
    *,
    saga_apps: Sequence[str] = (),
    project: str = "config",
    name: str = "event-driven-django",
    title: str = "Event Driven Django",
) -> dict[str, Any]:
    """Return the settings of a project whose service apps are ``services``.

    :param base_dir: the project's folder (holds ``.env`` and, by default, ``data/``).
    :param services: every service app of the project, in order; ``EDN_SERVICES`` picks those
        this process hosts (each gets the database alias named after it).
    :param saga_apps: apps holding saga definitions (``<app>/sagas.py``), installed wherever
        the ``sagas`` service is hosted.
    :param project: the project's package (``<project>.urls``, ``<project>.wsgi``).
    :param name: the project's name (a DNS label: Kubernetes labels, process names).
    :param title: the API's title in its OpenAPI document.
    """
    env = environ.Env()
    environ.Env.read_env(Path(base_dir) / ".env", overwrite=False)
    hosted = hosted_services(env.str("EDN_SERVICES", default=""), services)
    found = core_settings(env, Path(base_dir), hosted, saga_apps, project)
    found.update(
        BASE_DIR=Path(base_dir),
        EDN_PROJECT=project,
        EDN_PROJECT_NAME=name,
        EDN_SERVICE_APPS=tuple(services),
        EDN_SAGA_APPS=tuple(saga_apps),
        # generated files (manage.py edn_wiring) a project keeps by hand instead: it sets
        # this in its settings, after these
        EDN_WIRING_EXCLUDE=(),
    )
    found.update(security_settings(env, found["DEBUG"]))
    found.update(api_settings(env, found["DEBUG"], found["SECRET_KEY"], title, hosted))
    found.update(bus_settings(env, hosted, whole=set(hosted) == set(services)))
    return found


def core_settings(env, base_dir: Path, hosted: list[str], saga_apps, project: str) -> dict:
    DEBUG = env.bool("DJANGO_DEBUG", default=False)
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
    if not SECRET_KEY:
        if not DEBUG:
            raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off")
        SECRET_KEY = "dev-only-insecure-secret-key-never-use-in-production"
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
    CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
    EDN_SERVICES = hosted
    EDN_DATA_DIR = Path(env.str("EDN_DATA_DIR", default=str(base_dir / "data")))
    INSTALLED_APPS = [
        "django.contrib.admin",
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
        "django.contrib.staticfiles",
        "rest_framework",
        "drf_spectacular",
        "drf_spectacular_sidecar",  # Swagger UI's files, served from here (no CDN)
        "axes",
        "edn_core",
        "edn_core.revocations",  # in every service: its own copy of the revocations
        *hosted,
        *(saga_apps if "sagas" in hosted else ()),
    ]
    MIDDLEWARE = [
        "edn_core.observability.http.RequestMetricsMiddleware",  # first: it times the rest
        "edn_core.observability.server_spans.ServerSpanMiddleware",  # with tracing on
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
    ROOT_URLCONF = f"{project}.urls"
    WSGI_APPLICATION = f"{project}.wsgi.application"
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
    # Revoked tokens (docs/security.md, "Revocation"): how old a process's list may be, and how
    # long a revocation is kept (longer than any token lives)
    EDN_REVOCATION_REFRESH_SECONDS = env.float("EDN_REVOCATION_REFRESH_SECONDS", default=0.5)
    EDN_REVOCATION_RETENTION_DAYS = env.float("EDN_REVOCATION_RETENTION_DAYS", default=7.0)
    if EDN_REVOCATION_REFRESH_SECONDS < 0 or EDN_REVOCATION_RETENTION_DAYS <= 0:
        raise ImproperlyConfigured(
            "EDN_REVOCATION_REFRESH_SECONDS must be 0 or more, EDN_REVOCATION_RETENTION_DAYS more"
        )
    DATABASES = {alias: _database(env, EDN_DATA_DIR, alias) for alias in ("default", *hosted)}
    DATABASE_ROUTERS = ["edn_core.routers.AppAliasRouter"]
    # Each service app owns the alias named after it; everything else (auth, admin) uses default.
    EDN_DATABASE_ROUTES = {app: app for app in hosted}
    DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
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
    # JSON lines in production, readable ones in development (docs/observability.md)
    LOGGING = logging_config(
        env.str("EDN_LOG_FORMAT", default="plain" if DEBUG else "json"),
        env.str("EDN_LOG_LEVEL", default="INFO"),
        env.str("OTEL_SERVICE_NAME", default="") or ",".join(hosted) or project,
    )
    return upper_names(locals())


def _database(env, data_dir: Path, alias: str) -> dict:
    """Read ``<ALIAS>_DATABASE_URL``; default to one SQLite file per alias under the data dir."""
    default_url = f"sqlite:///{data_dir / (alias + '.sqlite3')}"
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
        # The platform's own set-based statements (server-side binding: appends, relays,
        # projections) are prepared after this many runs; 0 turns it off, for a pooler in
        # transaction mode without prepared statements. Django's queries are not prepared.
        prepare = env.int("EDN_DB_PREPARE_THRESHOLD", default=5)
        config.setdefault("OPTIONS", {})["prepare_threshold"] = prepare or None
    return config
