from importlib import import_module

from django.apps import AppConfig
from django.core.signals import request_started


class EdnCoreConfig(AppConfig):
    default = True  # this module also defines ServiceAppConfig, a base for the service apps
    name = "edn_core"
    verbose_name = "Event Driven Django core"

    def ready(self):
        from edn_core.bus.config import bus_config
        from edn_core.bus.worker import ensure_in_process_worker

        if bus_config().in_process:
            # Started by the first request, not at import: migrate & co. must not relay.
            request_started.connect(ensure_in_process_worker, dispatch_uid="edn-bus")


class ServiceAppConfig(AppConfig):
    """AppConfig of a service app: loads its command handlers and its event declarations."""

    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        import_module(f"{self.name}.commands")
        import_module(f"{self.name}.events")
