"""Security settings read from env: refused when unsafe, defaults that suit production."""

import json
import os
import subprocess
import sys

import pytest

SHOW = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'hsts': s.SECURE_HSTS_SECONDS, 'cookies': s.SESSION_COOKIE_SECURE, "
    "'redirect': s.SECURE_SSL_REDIRECT, 'silenced': s.SILENCED_SYSTEM_CHECKS, "
    "'throttle': s.EDN_API_THROTTLE_RATE, 'cache': s.CACHES['default']['BACKEND'], "
    "'lockout': s.AXES_ENABLED, 'proxies': s.EDN_TRUSTED_PROXY_COUNT}))"
)
KEYS = {"DJANGO_SECRET_KEY": "s" * 50, "EDN_JWT_SIGNING_KEY": "j" * 50}


def settings_of(tmp_path, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "EDN_")) and not k.endswith("_DATABASE_URL")
    }
    clean.update(DJANGO_SETTINGS_MODULE="config.settings", EDN_DATA_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "-c", SHOW], env=clean, capture_output=True, text=True, timeout=120
    )


def shown(tmp_path, **env: str) -> dict:
    done = settings_of(tmp_path, **env)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_production_defaults(tmp_path):
    assert shown(tmp_path, **KEYS) == {
        "hsts": 31536000,  # sent on HTTPS answers only
        "cookies": True,
        "redirect": False,  # the ingress redirects (docs/security.md)
        "silenced": ["security.W021"],
        "throttle": "",
        "cache": "django.core.cache.backends.locmem.LocMemCache",
        "lockout": True,
        "proxies": 0,
    }


def test_debug_turns_hsts_and_secure_cookies_off(tmp_path):
    debug = shown(tmp_path, DJANGO_DEBUG="1")
    assert (debug["hsts"], debug["cookies"]) == (0, False)


def test_the_redirect_warning_is_silenced_only_where_the_proxy_redirects(tmp_path):
    at_proxy = shown(tmp_path, DJANGO_HTTPS_REDIRECT_AT_PROXY="1", **KEYS)
    assert "security.W008" in at_proxy["silenced"]
    in_app = shown(
        tmp_path, DJANGO_HTTPS_REDIRECT_AT_PROXY="1", DJANGO_SECURE_SSL_REDIRECT="1", **KEYS
    )
    assert (in_app["redirect"], "security.W008" in in_app["silenced"]) == (True, False)


def test_a_shared_cache_and_a_rate_come_from_env(tmp_path):
    cache_and_rate = {"EDN_CACHE_URL": "redis://h:6379/9", "EDN_API_THROTTLE_RATE": "50/minute"}
    configured = shown(tmp_path, **cache_and_rate, **KEYS)
    assert configured["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert configured["throttle"] == "50/minute"


@pytest.mark.parametrize(
    ("env", "refusal"),
    [
        ({"EDN_JWT_ALGORITHM": "none"}, "EDN_JWT_ALGORITHM must be one of"),
        ({"EDN_JWT_ALGORITHM": "HS1"}, "EDN_JWT_ALGORITHM must be one of"),
        ({"EDN_JWT_SIGNING_KEY": "short-key-of-31-bytes-012345678"}, "at least 32 bytes"),
        ({"EDN_API_THROTTLE_RATE": "lots"}, "EDN_API_THROTTLE_RATE must read like"),
        ({"EDN_API_THROTTLE_RATE": "10/fortnight"}, "EDN_API_THROTTLE_RATE must read like"),
        ({"EDN_API_THROTTLE_RATE": "10/decade"}, "EDN_API_THROTTLE_RATE must read like"),
    ],
)
def test_unsafe_or_unreadable_values_refuse_to_start(tmp_path, env, refusal):
    done = settings_of(tmp_path, **{**KEYS, **env})
    assert done.returncode != 0 and refusal in done.stderr


def test_a_short_hmac_key_is_allowed_in_debug_only(tmp_path):
    assert shown(tmp_path, DJANGO_DEBUG="1", EDN_JWT_SIGNING_KEY="short")["hsts"] == 0
