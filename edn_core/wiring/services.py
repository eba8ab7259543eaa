"""The project's service apps as the code declares them: the topics each publishes and
handles, and the stream processors it declares (each needs a streams process)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PLATFORM_APPS = ("sagas", "schema_registry")  # the platform's own service apps


@dataclass(frozen=True)
class Service:
    """A service app: its label, the topics it publishes and handles, and the names of the
    stream processors it declares (``<app>/processors.py``)."""

    label: str
    publishes: frozenset[str]
    subscribes: frozenset[str]
    processors: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        """Its name in process lists, Kubernetes and Dapr: DNS labels have no underscores."""
        return self.label.replace("_", "-")

    @property
    def uses_bus(self) -> bool:
        return bool(self.publishes or self.subscribes)

    @property
    def runs_streams(self) -> bool:
        """Whether it needs a streams process (``edn_streams run --all``)."""
        return bool(self.processors)


def declared(label: str) -> Service:
    """The service app ``label`` with the topics it publishes, those its events module
    subscribes it to, and the stream processors it declares; and those of the platform's apps
    installed in every service (the token revocations), which every service moves too."""
    from edn_core.bus.stores import every_service_apps
    from edn_core.bus.subscriptions import subscriptions
    from edn_core.events import publications
    from edn_core.streams.processors import processors

    module = f"{label}.events"
    apps = {label, *every_service_apps()}
    return Service(
        label,
        frozenset(p.topic for p in publications() if p.app_label in apps),
        frozenset(
            s.topic
            for s in subscriptions()
            if s.app_label in apps and _declared_by_app(s.handler.__module__, module)
        ),
        frozenset(p.name for p in processors() if p.app_label == label),
    )


def _declared_by_app(handler_module: str, events_module: str) -> bool:
    """A handler of the app's events module, or one the platform registers for the app there
    (the stream feed's: ``feed_streams(app)``); not a test's temporary subscription."""
    return handler_module == events_module or handler_module.startswith("edn_core.")


def services() -> list[Service]:
    """Every service app of the project in its order, with what its events module declares.

    Needs every app loaded (a process hosting all of them, ``EDN_SERVICES`` unset).
    """
    known = tuple(settings.EDN_SERVICE_APPS)
    if list(settings.EDN_SERVICES) != list(known):
        raise ImproperlyConfigured("the wiring needs every service app: unset EDN_SERVICES")
    return [declared(label) for label in known]


def project_apps() -> tuple[str, ...]:
    """The project's own apps: its service apps but the platform's, then its saga apps."""
    own = tuple(a for a in settings.EDN_SERVICE_APPS if a not in PLATFORM_APPS)
    return own + tuple(settings.EDN_SAGA_APPS)
