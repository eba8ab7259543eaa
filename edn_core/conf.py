"""The platform's settings, typed and read once: :func:`edn_settings`.

Each value comes from the Django setting named beside it, with the default a project that
does not set it gets. The object is built on first use and kept; any change of a setting
(``override_settings`` and pytest-django's ``settings`` in tests) drops it, so the next use
reads the settings again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cache
from types import MappingProxyType

from django.conf import settings
from django.core.signals import setting_changed

__all__ = [
    "BusConfig",
    "DaprAppSettings",
    "DaprSidecarSettings",
    "EdnSettings",
    "RevocationSettings",
    "SchemaSettings",
    "edn_settings",
]


@dataclass(frozen=True)
class BusConfig:
    """``EDN_BUS``: a dict whose keys are these field names."""

    max_attempts: int = 5
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 300.0
    retry_lease_seconds: float = 60.0
    relay_batch: int = 1000
    message_batch: int = 100
    sweep_seconds: float = 5.0
    inbox_ttl_days: int = 7
    sent_retention_days: int = 7
    in_process: bool = False


@dataclass(frozen=True)
class SchemaSettings:
    registry_url: str  # EDN_SCHEMA_REGISTRY_URL: the remote registry ("" none)
    registry_token: str  # EDN_SCHEMA_REGISTRY_TOKEN ("" a token minted here)
    registry_timeout: float  # EDN_SCHEMA_REGISTRY_TIMEOUT_SECONDS: each call to it
    validation: bool  # EDN_SCHEMA_VALIDATION
    latest_ttl: float  # EDN_SCHEMA_LATEST_TTL: seconds a remote "latest" is kept
    # What the hosted registry takes (larger schemas are 422):
    max_bytes: int  # EDN_SCHEMA_MAX_BYTES: compact JSON text
    max_depth: int  # EDN_SCHEMA_MAX_DEPTH: levels of objects and arrays
    max_subschemas: int  # EDN_SCHEMA_MAX_SUBSCHEMAS: JSON objects and booleans


@dataclass(frozen=True)
class DaprAppSettings:
    """What the app side of Dapr pub/sub (:mod:`edn_core.dapr_app`) reads."""

    pubsub: str  # EDN_DAPR_PUBSUB
    dead_letter_topic: str  # EDN_DAPR_DEAD_LETTER_TOPIC ("" none)
    subscription_metadata: Mapping[str, str]  # EDN_DAPR_SUBSCRIPTION_METADATA
    bulk_subscribe: bool | Mapping  # EDN_DAPR_BULK_SUBSCRIBE: True, or its options
    app_api_token: str  # APP_API_TOKEN: what the sidecar must send ("" nothing)
    max_body_bytes: int  # EDN_DAPR_MAX_BODY_BYTES


@dataclass(frozen=True)
class DaprSidecarSettings:
    """What the publishing side (:mod:`edn_core.bus.transports`) reads of its sidecar."""

    host: str  # DAPR_HOST
    http_port: int  # DAPR_HTTP_PORT
    grpc_port: int  # DAPR_GRPC_PORT
    api_token: str  # DAPR_API_TOKEN: what the app sends the sidecar ("" nothing)
    publish_api: str  # EDN_DAPR_PUBLISH_API: grpc or http
    bulk_publish: bool  # EDN_DAPR_BULK_PUBLISH
    timeout_seconds: float  # EDN_DAPR_TIMEOUT_SECONDS
    health_timeout_seconds: float  # EDN_DAPR_HEALTH_TIMEOUT_SECONDS


@dataclass(frozen=True)
class RevocationSettings:
    """What the revocation list (:mod:`edn_core.revocations`) reads."""

    refresh_seconds: float  # EDN_REVOCATION_REFRESH_SECONDS: how old a process's list may be
    retention_days: float  # EDN_REVOCATION_RETENTION_DAYS: how long a revocation is kept


@dataclass(frozen=True)
class EdnSettings:
    bus: BusConfig
    schemas: SchemaSettings
    dapr: DaprAppSettings
    sidecar: DaprSidecarSettings
    api_throttle_rate: str | None  # EDN_API_THROTTLE_RATE ("1000/min"; None: no limit)
    trusted_proxy_count: int  # EDN_TRUSTED_PROXY_COUNT
    personal_data_key: str  # EDN_PERSONAL_DATA_KEY: base64 of 32 bytes ("" keys unwrapped)
    revocations: RevocationSettings


@cache
def edn_settings() -> EdnSettings:
    """Return the platform's settings (read on first use after any setting changed). The
    defaults here are those of a project that does not set them."""
    bulk = _get("EDN_DAPR_BULK_SUBSCRIBE", False)
    return EdnSettings(
        bus=_bus(),
        schemas=SchemaSettings(
            registry_url=_get("EDN_SCHEMA_REGISTRY_URL", ""),
            registry_token=_get("EDN_SCHEMA_REGISTRY_TOKEN", ""),
            registry_timeout=float(_get("EDN_SCHEMA_REGISTRY_TIMEOUT_SECONDS", 3.0)),
            validation=_get("EDN_SCHEMA_VALIDATION", True),
            latest_ttl=_get("EDN_SCHEMA_LATEST_TTL", 60.0),
            max_bytes=int(_get("EDN_SCHEMA_MAX_BYTES", 64 * 1024)),
            max_depth=int(_get("EDN_SCHEMA_MAX_DEPTH", 32)),
            max_subschemas=int(_get("EDN_SCHEMA_MAX_SUBSCHEMAS", 1000)),
        ),
        dapr=DaprAppSettings(
            pubsub=_get("EDN_DAPR_PUBSUB", "") or "pubsub",
            dead_letter_topic=_get("EDN_DAPR_DEAD_LETTER_TOPIC", "{topic}.deadletter"),
            subscription_metadata=MappingProxyType(
                dict(_get("EDN_DAPR_SUBSCRIPTION_METADATA", {}))
            ),
            bulk_subscribe=bulk if isinstance(bulk, bool) else MappingProxyType(dict(bulk)),
            app_api_token=_get("APP_API_TOKEN", ""),
            max_body_bytes=int(_get("EDN_DAPR_MAX_BODY_BYTES", 4 * 1024 * 1024)),
        ),
        sidecar=DaprSidecarSettings(
            host=_get("DAPR_HOST", "") or "127.0.0.1",
            http_port=int(_get("DAPR_HTTP_PORT", "") or 3500),
            grpc_port=int(_get("DAPR_GRPC_PORT", "") or 50001),
            api_token=_get("DAPR_API_TOKEN", ""),
            publish_api=_get("EDN_DAPR_PUBLISH_API", "grpc"),
            bulk_publish=bool(_get("EDN_DAPR_BULK_PUBLISH", True)),
            timeout_seconds=float(_get("EDN_DAPR_TIMEOUT_SECONDS", 10.0)),
            health_timeout_seconds=float(_get("EDN_DAPR_HEALTH_TIMEOUT_SECONDS", 5.0)),
        ),
        api_throttle_rate=_get("EDN_API_THROTTLE_RATE", "") or None,
        trusted_proxy_count=int(_get("EDN_TRUSTED_PROXY_COUNT", 0)),
        personal_data_key=_get("EDN_PERSONAL_DATA_KEY", ""),
        revocations=RevocationSettings(
            refresh_seconds=float(_get("EDN_REVOCATION_REFRESH_SECONDS", 0.5)),
            retention_days=float(_get("EDN_REVOCATION_RETENTION_DAYS", 7.0)),
        ),
    )


def _get(name: str, default):
    return getattr(settings, name, default)


def _bus() -> BusConfig:
    given = _get("EDN_BUS", {})
    known = {f.name for f in fields(BusConfig)}
    unknown = set(given) - known
    if unknown:
        raise ValueError(f"unknown EDN_BUS settings {sorted(unknown)}; known: {sorted(known)}")
    return BusConfig(**given)


def _forget(**kwargs) -> None:
    edn_settings.cache_clear()


setting_changed.connect(_forget, dispatch_uid="edn-settings")
