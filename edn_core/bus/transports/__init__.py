"""Transports: the port through which the relay publishes outbox rows.

A transport publishes rows in order and returns how many of them (a prefix) the broker
confirmed; the relay marks exactly those as sent. ``local`` delivers in the same process.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

__all__ = ["TRANSPORTS", "Transport", "get_transport"]

TRANSPORTS = {
    "local": "edn_core.bus.transports.local.LocalTransport",
    "celery": "edn_core.bus.transports.celery.CeleryTransport",
    "dapr": "edn_core.bus.transports.dapr.DaprTransport",
}


class Transport(ABC):
    name: str

    @abstractmethod
    def publish(self, messages: Sequence) -> int:
        """Publish ``messages`` (outbox rows) in order; return how many were confirmed."""

    def close(self) -> None:  # noqa: B027  optional hook, most transports hold nothing
        """Release connections."""


@cache
def get_transport() -> Transport:
    """Return the transport named by ``settings.EDN_BUS_TRANSPORT``."""
    name = settings.EDN_BUS_TRANSPORT
    if name not in TRANSPORTS:
        raise ValueError(f"EDN_BUS_TRANSPORT={name!r}; choose one of {sorted(TRANSPORTS)}")
    return import_string(TRANSPORTS[name])()
