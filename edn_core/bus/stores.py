"""Find each app's concrete bus tables and the alias they live in."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.apps import apps
from django.conf import settings
from django.db import models

from edn_core.bus.models import (
    AggregateCheckpointBase,
    FailedDeliveryBase,
    InboxEntryBase,
    OutboxMessageBase,
)
from edn_core.routers import alias_for

__all__ = ["BusStore", "all_stores", "every_service_apps", "find_model", "store_for"]


@dataclass(frozen=True)
class BusStore:
    app_label: str
    alias: str
    outbox: type[OutboxMessageBase]
    inbox: type[InboxEntryBase]
    failures: type[FailedDeliveryBase]
    checkpoints: type[AggregateCheckpointBase]

    def rows(self, model: type[models.Model]) -> models.QuerySet:
        return model._default_manager.using(self.alias)


def find_model(app_label: str, base: type) -> type:
    """The one model of ``app_label`` built on the abstract ``base`` (bus or store tables)."""
    found = [m for m in apps.get_app_config(app_label).get_models() if issubclass(m, base)]
    if len(found) != 1:
        raise LookupError(f"app {app_label} must declare exactly one {base.__name__} model")
    return found[0]


@cache
def store_for(app_label: str) -> BusStore:
    """Return the bus tables of ``app_label`` (an app that declares them in models.py)."""
    return BusStore(
        app_label,
        alias_for(app_label),
        find_model(app_label, OutboxMessageBase),
        find_model(app_label, InboxEntryBase),
        find_model(app_label, FailedDeliveryBase),
        find_model(app_label, AggregateCheckpointBase),
    )


def all_stores() -> list[BusStore]:
    """Return the bus stores of every installed app that declares an outbox, the service
    apps' first (an envelope no handler takes is kept in the first)."""
    service_apps = set(getattr(settings, "EDN_SERVICE_APPS", ()))
    labels = sorted(
        {m._meta.app_label for m in apps.get_models() if issubclass(m, OutboxMessageBase)},
        key=lambda label: (label not in service_apps, label),
    )
    return [store_for(label) for label in labels]


def every_service_apps() -> list[str]:
    """The apps with bus tables that are no service app (the token revocations): installed in
    every service, their tables in its ``default`` database, so each service keeps its own copy
    of their events and publishes its own."""
    service_apps = set(getattr(settings, "EDN_SERVICE_APPS", ()))
    return [store.app_label for store in all_stores() if store.app_label not in service_apps]
