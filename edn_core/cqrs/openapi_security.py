"""The API's security scheme in the OpenAPI document: a bearer JWT, and on each operation
the scope it needs (:mod:`edn_core.scopes`), as the scopes of its security requirement."""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme

from edn_core.scopes import required_scope

__all__ = ["TokenScheme"]


class TokenScheme(SimpleJWTScheme):
    target_class = "edn_core.authentication.TokenAuthentication"
    name = "jwtAuth"

    def get_security_requirement(self, auto_schema):
        return {self.name: [required_scope(auto_schema.view, auto_schema.method)]}
