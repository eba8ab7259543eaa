"""The claims of an access token this deployment issues (as simplejwt writes them), for tests
that sign tokens themselves."""

import time
import uuid

from django.conf import settings

__all__ = ["claims"]


def claims(**changes) -> dict:
    """A token's claims with ``changes``; a change to ``None`` removes the claim."""
    now = int(time.time())
    payload = {
        "token_type": "access",
        "exp": now + 3600,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "user_id": "7",
        "scope": "customers:read",
        "iss": settings.SIMPLE_JWT["ISSUER"],
        "aud": settings.SIMPLE_JWT["AUDIENCE"],
    }
    payload.update(changes)
    return {key: value for key, value in payload.items() if value is not None}
