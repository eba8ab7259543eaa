"""Transports: the port through which the relay publishes outbox rows.

A transport publishes rows in order and returns how many of them (a prefix) the broker
confirmed; the relay marks exactly those as sent. ``local`` delivers in the same process;
``dapr`` publishes through the sidecar's gRPC API (the Dapr SDK) or, with
``EDN_DAPR_PUBLISH_API=http``, its HTTP API.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from edn_core.conf import edn_settings

__all__ = ["DAPR_PUBLISH_APIS", "TRANSPORTS", "Transport", "get_transport"]

TRANSPORTS = {
    "local": "edn_core.bus.transports.local.LocalTransport",
    "celery": "edn_core.bus.transports.celery.CeleryTransport",
    "dapr": "edn_core.bus.transports.dapr_grpc.DaprGrpcTransport",
}
# EDN_DAPR_PUBLISH_API: which API of the sidecar the dapr transport publishes through.
DAPR_PUBLISH_APIS = {
    "grpc": "edn_core.bus.transports.dapr_grpc.DaprGrpcTransport",
    "http": "edn_core.bus.transports.dapr.DaprTransport",
}


class Transport(ABC):
    name: str

    @abstractmethod
    def publish(self, messages: Sequence) -> int:
        """Publish ``messages`` (outbox rows) in order; return how many were confirmed."""

    def close(self) -> None:  # noqa: B027  optional hook, most transports hold nothing
        """Release connections."""


def _transport_path(name: str) -> str:
    if name not in TRANSPORTS:
        raise ValueError(f"EDN_BUS_TRANSPORT={name!r}; choose one of {sorted(TRANSPORTS)}")
    if name != "dapr":
        return TRANSPORTS[name]
    api = edn_settings().sidecar.publish_api
    if api not in DAPR_PUBLISH_APIS:
        raise ValueError(f"EDN_DAPR_PUBLISH_API={api!r}; choose one of {sorted(DAPR_PUBLISH_APIS)}")
    return DAPR_PUBLISH_APIS[api]


@cache
def get_transport() -> Transport:
    """Return the transport named by ``settings.EDN_BUS_TRANSPORT`` (and, for ``dapr``,
    ``settings.EDN_DAPR_PUBLISH_API``)."""
    return import_string(_transport_path(settings.EDN_BUS_TRANSPORT))()
