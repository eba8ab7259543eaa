"""Each operation's scope in the OpenAPI document (:mod:`edn_core.scopes`).

OpenAPI 3.0 keeps the scope lists of security requirements for OAuth 2 schemes; the API's
scheme is a bearer JWT (``jwtAuth``, whatever issued the token), so each operation that
needs a token states its scope in ``x-required-scopes`` and in a line of its description.
"""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema

from edn_core.scopes import required_scope

__all__ = ["ScopedAutoSchema", "TokenScheme"]


class TokenScheme(SimpleJWTScheme):
    """The API's authentication class is simplejwt's: the same ``jwtAuth`` bearer scheme."""

    target_class = "edn_core.authentication.TokenAuthentication"
    match_subclasses = True


class ScopedAutoSchema(AutoSchema):
    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None or not any(operation.get("security", ())):
            return operation  # public: no token, no scope
        scope = required_scope(self.view, self.method)
        operation["x-required-scopes"] = [scope]
        note = f"Needs the scope `{scope}`."
        operation["description"] = f"{operation.get('description', '')}\n\n{note}".strip()
        return operation
