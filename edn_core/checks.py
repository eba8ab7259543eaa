"""System checks of a production process (``DEBUG`` off), and the run of every check that
gunicorn makes before a worker serves (:mod:`edn_core.project.gunicorn`).

- ``edn_core.E001``: ``SECRET_KEY`` (``DJANGO_SECRET_KEY``) or one of its fallbacks is shorter
  than 32 bytes; ``edn_core.E002``: so is an HS token signing key. Every management command
  and every gunicorn worker refuses to start.
- ``edn_core.W001``: a user still has the development password (``admin`` / ``admin``). A
  database check: it runs with ``manage.py check --database default`` and at gunicorn's start.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core import checks
from django.db import DatabaseError, connections, router

from edn_core.development_password import DEVELOPMENT_LOGINS

__all__ = [
    "MIN_KEY_BYTES",
    "check_development_logins",
    "check_key_lengths",
    "report_development_logins",
    "startup_errors",
]

logger = logging.getLogger(__name__)
MIN_KEY_BYTES = 32  # RFC 7518 3.2: an HMAC key at least as long as the hash (SHA-256)


def _short(key: object) -> bool:
    return len(key.encode() if isinstance(key, str) else bytes(key or b"")) < MIN_KEY_BYTES


@checks.register(checks.Tags.security)
def check_key_lengths(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Refuse keys anyone could guess offline from a signed cookie or token."""
    if settings.DEBUG:
        return []
    found = []
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())]
    if any(_short(key) for key in secrets):
        found.append(
            checks.Error(
                f"DJANGO_SECRET_KEY (or a SECRET_KEY_FALLBACKS entry) is shorter than "
                f"{MIN_KEY_BYTES} bytes.",
                hint="Generate one: python -c 'import secrets; print(secrets.token_urlsafe(50))'",
                id="edn_core.E001",
            )
        )
    jwt = getattr(settings, "SIMPLE_JWT", {})
    if str(jwt.get("ALGORITHM", "")).startswith("HS") and _short(jwt.get("SIGNING_KEY")):
        found.append(
            checks.Error(
                f"The token signing key (EDN_JWT_SIGNING_KEY) is shorter than {MIN_KEY_BYTES} "
                "bytes.",
                hint="Generate one: openssl rand -hex 32",
                id="edn_core.E002",
            )
        )
    return found


@checks.register(checks.Tags.security, checks.Tags.database)
def check_development_logins(
    app_configs=None, databases=None, **kwargs
) -> list[checks.CheckMessage]:
    """Warn about a development login left in a production database (one shared with
    ``scripts/run``, say). Reads only the development usernames: hashing is slow."""
    users = get_user_model()
    alias = router.db_for_read(users)
    if settings.DEBUG or alias not in (databases or ()):
        return []
    named = {f"{users.USERNAME_FIELD}__in": list(DEVELOPMENT_LOGINS)}
    try:
        found = list(users._default_manager.db_manager(alias).filter(**named))
    except DatabaseError:  # not migrated yet, or away: nothing to warn about now
        return []
    return [
        checks.Warning(
            f"The user {user.get_username()!r} has the development password.",
            hint="With DEBUG off it is refused at login; set another password "
            f"(manage.py changepassword {user.get_username()}) or delete the user.",
            obj=user.get_username(),
            id="edn_core.W001",
        )
        for user in found
        if check_password(DEVELOPMENT_LOGINS[user.get_username()], user.password)
    ]


def startup_errors(*, report: bool) -> list[checks.CheckMessage]:
    """Run every system check (``--deploy`` ones included) as a server starts; return the
    errors, which must stop it (they are logged). With ``report``, log the warnings too."""
    found = [
        message
        for message in checks.run_checks(include_deployment_checks=True)
        if not message.is_silenced()
    ]
    for message in found:
        if report or message.is_serious():
            level = logging.ERROR if message.is_serious() else logging.WARNING
            logger.log(level, "system check: %s", message)
    return [message for message in found if message.is_serious()]


def report_development_logins() -> threading.Thread:
    """Log :func:`check_development_logins`' warnings from a thread of their own: a database
    that does not answer must not hold up the start (the thread is returned for tests)."""
    thread = threading.Thread(target=_report_development_logins, name="edn-start-checks")
    thread.daemon = True
    thread.start()
    return thread


def _report_development_logins() -> None:
    alias = router.db_for_read(get_user_model())
    try:
        for message in check_development_logins(databases=[alias]):
            if not message.is_silenced():
                logger.warning("system check: %s", message)
    finally:
        connections.close_all()  # this thread's own connections
