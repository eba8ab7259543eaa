"""Reach a remote schema registry (``EDN_SCHEMA_REGISTRY_URL``) over HTTP."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import quote

import httpx
from django.conf import settings

from edn_core.schemas import RegisteredSchema, RegistryUnavailable, SchemaRefused

__all__ = ["HttpSchemaSource"]


def _token() -> str:
    """A bearer token for the registry: configured, or minted with this service's key."""
    configured = getattr(settings, "EDN_SCHEMA_REGISTRY_TOKEN", "")
    if configured:
        return configured
    from rest_framework_simplejwt.tokens import AccessToken

    token = AccessToken()
    token.set_exp(lifetime=timedelta(minutes=5))
    token["user_id"] = "0"
    token["username"] = "edn-schema-client"
    return str(token)


class HttpSchemaSource:
    def __init__(self, base_url: str, timeout: float = 3.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict | None = None) -> httpx.Response:
        try:
            return httpx.request(
                method,
                f"{self.base_url}/api/schemas/{path}",
                json=body,
                timeout=self.timeout,
                headers={"Authorization": f"Bearer {_token()}"},
            )
        except httpx.HTTPError as error:
            raise RegistryUnavailable(f"Schema registry at {self.base_url}: {error}") from None

    def get(self, subject: str, version: int | None) -> RegisteredSchema | None:
        which = "latest" if version is None else str(version)
        response = self._call("GET", f"subjects/{quote(subject)}/versions/{which}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise RegistryUnavailable(
                f"Schema registry at {self.base_url} answered {response.status_code}."
            )
        body = response.json()
        schema = body["schema"]
        document = json.loads(schema) if isinstance(schema, str) else schema
        return RegisteredSchema(body["subject"], body["version"], body["id"], document)

    def register(self, subject: str, document: dict) -> RegisteredSchema:
        body = {"schema": json.dumps(document), "schemaType": "JSON"}
        response = self._call("POST", f"subjects/{quote(subject)}/versions", body)
        if response.status_code in (409, 422):
            problem = response.json()
            raise SchemaRefused(problem.get("detail", ""), problem.get("messages") or [])
        if response.status_code != 200:
            raise RegistryUnavailable(f"registering {subject}: HTTP {response.status_code}")
        registered = self.get(subject, None)
        if registered is None:
            raise RegistryUnavailable(f"{subject} vanished right after registration")
        return registered

    def compatibility(self, subject: str, document: dict) -> list[str]:
        body = {"schema": json.dumps(document), "schemaType": "JSON"}
        path = f"compatibility/subjects/{quote(subject)}/versions/latest"
        response = self._call("POST", path, body)
        if response.status_code == 404:
            return []
        if response.status_code == 422:
            return [response.json().get("detail", "invalid schema")]
        if response.status_code != 200:
            raise RegistryUnavailable(f"checking {subject}: HTTP {response.status_code}")
        return response.json()["messages"]
