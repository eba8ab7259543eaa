"""Test settings: the production settings with throwaway keys and a fast password hasher."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-0123456789abcdefghijklmnopqrstuv")
os.environ.setdefault("EDN_JWT_SIGNING_KEY", "test-only-jwt-signing-key-0123456789abcdefghijklmno")

from config.settings import *  # noqa: F403

EDN_BUS = {**EDN_BUS, "in_process": False}  # noqa: F405  tests drive the bus
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405  whitenoise warns when it is missing
