"""OAuth 2 scopes: what a token may do, and what each API operation needs (docs/security.md).

Each service app has ``<app>:read`` (GET) and ``<app>:write`` (every other method); two
operator scopes guard what reaches beyond one resource: ``schemas:admin`` (the registry's
configuration, deletes and modes) and ``sagas:operate`` (retrying and cancelling sagas).
A view declares anything else in ``required_scopes``: one scope, or a dict by action or
HTTP method (``{"cancel": SAGAS_OPERATE}``). A token carries its scopes in ``scope`` (one
space-separated string, RFC 9068) or ``scp`` (a string or a list, as Entra ID and Okta do);
``EDN_JWT_SCOPE_CLAIMS`` names others (``roles``, ``permissions``).
"""

from __future__ import annotations

from functools import cache

from django.apps import apps
from django.conf import settings
from rest_framework import exceptions, permissions

__all__ = [
    "SAGAS_OPERATE",
    "SCHEMAS_ADMIN",
    "HasScope",
    "InsufficientScope",
    "all_scopes",
    "required_scope",
    "token_scopes",
]

SCHEMAS_ADMIN = "schemas:admin"
SAGAS_OPERATE = "sagas:operate"
READ, WRITE = "read", "write"


def all_scopes() -> tuple[str, ...]:
    """Every scope of the project's service apps (hosted here or not), sorted."""
    per_app = {f"{app}:{kind}" for app in settings.EDN_SERVICE_APPS for kind in (READ, WRITE)}
    return tuple(sorted(per_app | {SCHEMAS_ADMIN, SAGAS_OPERATE}))


def token_scopes(claims) -> frozenset[str]:
    """The scopes a token's claims grant: ``scope`` and ``scp`` together (or the claims
    ``EDN_JWT_SCOPE_CLAIMS`` names), each a space-separated string or a list of strings."""
    found: set[str] = set()
    for claim in getattr(settings, "EDN_JWT_SCOPE_CLAIMS", ("scope", "scp")):
        value = claims.get(claim)
        if isinstance(value, str):
            found.update(value.split())
        elif isinstance(value, list | tuple):
            found.update(item for item in value if isinstance(item, str))
    return frozenset(found)


@cache
def _app_of(view_class: type) -> str:
    config = apps.get_containing_app_config(view_class.__module__)
    if config is None:
        raise LookupError(f"{view_class.__name__} is not in an installed app: declare its scope")
    return config.label


def required_scope(view, method: str) -> str:
    """The scope ``view`` needs for ``method`` (its declared one, or its app's read/write)."""
    declared = getattr(view, "required_scopes", None)
    if isinstance(declared, dict):
        declared = declared.get(getattr(view, "action", None)) or declared.get(method.upper())
    if declared:
        return declared
    kind = READ if method.upper() in permissions.SAFE_METHODS else WRITE
    return f"{_app_of(type(view))}:{kind}"


class InsufficientScope(exceptions.PermissionDenied):
    """403 ``insufficient-scope`` with ``WWW-Authenticate: Bearer error="insufficient_scope"``
    (RFC 6750 3.1), naming the scope the operation needs."""

    default_code = "insufficient-scope"

    def __init__(self, scope: str) -> None:
        super().__init__(f"This operation needs the scope {scope}, which the token does not have.")
        self.auth_header = f'Bearer error="insufficient_scope", scope="{scope}"'


class HasScope(permissions.BasePermission):
    """Allow a request whose token grants the scope its operation needs."""

    def has_permission(self, request, view) -> bool:
        if request.auth is None:
            return False  # DRF answers 401: no token
        scope = required_scope(view, request.method)
        if scope not in token_scopes(request.auth):
            raise InsufficientScope(scope)
        return True
