"""Reach a remote schema registry (``EDN_SCHEMA_REGISTRY_URL``) over HTTP."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from urllib.parse import quote

import httpx

from edn_core.conf import edn_settings
from edn_core.schema_source import RegisteredSchema, RegistryUnavailable, SchemaRefused
from edn_core.security import redact_url

__all__ = ["HttpSchemaSource"]

logger = logging.getLogger(__name__)
# A registry's own "not found" codes (Confluent's): any other 404 is not a registry answering.
NOT_REGISTERED = {40401, 40402}


def _token() -> str:
    """A bearer token for the registry: configured, or minted with this service's key."""
    configured = edn_settings().schemas.registry_token
    if configured:
        return configured
    from rest_framework_simplejwt.tokens import AccessToken

    token = AccessToken()
    token.set_exp(lifetime=timedelta(minutes=5))
    token["user_id"] = "0"
    token["username"] = token["sub"] = "edn-schema-client"
    token["scope"] = "schema_registry:read schema_registry:write"
    return str(token)


class HttpSchemaSource:
    def __init__(self, base_url: str, timeout: float = 3.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.logged_url = redact_url(self.base_url)  # the URL may carry a password
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
            # The URL goes to the log only: clients see the condition, not the topology.
            logger.warning("schema registry at %s: %r", self.logged_url, error)
            raise RegistryUnavailable(
                f"The schema registry did not answer ({type(error).__name__})."
            ) from None

    def _unavailable(self, response: httpx.Response, doing: str) -> RegistryUnavailable:
        logger.warning(
            "schema registry at %s, %s: HTTP %s", self.logged_url, doing, response.status_code
        )
        return RegistryUnavailable(
            f"The schema registry answered HTTP {response.status_code} to {doing}."
        )

    def get(self, subject: str, version: int | None) -> RegisteredSchema | None:
        which = "latest" if version is None else str(version)
        response = self._call("GET", f"subjects/{quote(subject)}/versions/{which}")
        if response.status_code == 404 and _body(response).get("error_code") in NOT_REGISTERED:
            return None
        return self._schema(response, f"a read of {subject}")

    def _schema(self, response: httpx.Response, doing: str) -> RegisteredSchema:
        if response.status_code != 200:
            raise self._unavailable(response, doing)
        try:
            body = response.json()
            schema = body["schema"]
            document = json.loads(schema) if isinstance(schema, str) else schema
            return RegisteredSchema(body["subject"], body["version"], body["id"], document)
        except (ValueError, KeyError, TypeError):
            raise self._unavailable(response, f"{doing} (not a schema)") from None

    def register(self, subject: str, document: dict) -> RegisteredSchema:
        body = {"schema": json.dumps(document), "schemaType": "JSON"}
        response = self._call("POST", f"subjects/{quote(subject)}/versions", body)
        _raise_if_refused(response)
        if response.status_code != 200:
            raise self._unavailable(response, f"registering {subject}")
        # The version that holds this document (the same one again keeps its old version).
        found = self._call("POST", f"subjects/{quote(subject)}", body)
        return self._schema(found, f"a lookup of {subject} after registering it")

    def register_reader(self, subject: str, consumer: str, document: dict) -> int:
        body = {"schema": json.dumps(document), "schemaType": "JSON"}
        path = f"subjects/{quote(subject)}/consumers/{quote(consumer)}"
        response = self._call("PUT", path, body)
        _raise_if_refused(response)
        schema_id = _body(response).get("id")
        if response.status_code not in (200, 201) or not isinstance(schema_id, int):
            raise self._unavailable(response, f"registering the reader {consumer} of {subject}")
        return schema_id

    def compatibility(self, subject: str, document: dict) -> list[str]:
        body = {"schema": json.dumps(document), "schemaType": "JSON"}
        path = f"compatibility/subjects/{quote(subject)}/versions/latest"
        response = self._call("POST", path, body)
        if response.status_code == 404 and _body(response).get("error_code") in NOT_REGISTERED:
            return []
        if response.status_code == 422:
            return [_body(response).get("detail", "invalid schema")]
        messages = _body(response).get("messages")
        if response.status_code != 200 or not isinstance(messages, list):
            raise self._unavailable(response, f"checking {subject}")
        return messages


def _raise_if_refused(response: httpx.Response) -> None:
    """A registration the registry refused (409 incompatible, 422 invalid), with its reasons."""
    if response.status_code in (409, 422):
        problem = _body(response)
        message = problem.get("detail") or problem.get("message") or ""
        raise SchemaRefused(message, problem.get("messages") or [])


def _body(response: httpx.Response) -> dict:
    """The JSON object a registry answered, or {} for anything else."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
