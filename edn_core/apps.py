from importlib import import_module

from django.apps import AppConfig
from django.core.signals import request_started, setting_changed

from edn_core.conf import edn_settings  # first: its setting_changed receiver runs before ours


class EdnCoreConfig(AppConfig):
    default = True  # this module also defines ServiceAppConfig, a base for the service apps
    name = "edn_core"
    verbose_name = "Event Driven Django core"

    def ready(self):
        from django.conf import settings

        from edn_core.bus.config import bus_config
        from edn_core.bus.worker import ensure_in_process_worker
        from edn_core.observability import otel

        otel.configure(default_service=",".join(settings.EDN_SERVICES) or "edn")  # if asked
        import_module("edn_core.checks")  # keys long enough, no development password
        import_module("edn_core.bus.backlog")  # their figures join every scrape of /metrics
        import_module("edn_core.streams.figures")

        if bus_config().in_process:
            from edn_core.bus.worker import each_round
            from edn_core.streams.inprocess import run_hosted_round

            # Started by the first request, not at import: migrate & co. must not relay.
            request_started.connect(ensure_in_process_worker, dispatch_uid="edn-bus")
            each_round(run_hosted_round, name="edn-streams")  # and runs the stream processors
        from edn_core.bus.worker import every
        from edn_core.streams.feed import trim_hosted_streams

        every(3600.0, trim_hosted_streams, name="edn-streams-retention")  # EDN_STREAMS' retention
        install_remote_schema_source()
        setting_changed.connect(_registry_url_changed, dispatch_uid="edn-schema-registry-url")


def install_remote_schema_source() -> None:
    """Give the schema layer the HTTP client of ``EDN_SCHEMA_REGISTRY_URL`` (or none). A
    hosted registry, installed by its own app, takes precedence over it."""
    from edn_core import schemas
    from edn_core.schema_client import HttpSchemaSource

    given = edn_settings().schemas
    url = given.registry_url
    schemas.install_remote_source(HttpSchemaSource(url, given.registry_timeout) if url else None)


def _registry_url_changed(setting: str, **kwargs) -> None:
    if setting.startswith("EDN_SCHEMA_REGISTRY_"):  # override_settings in tests
        install_remote_schema_source()


class ServiceAppConfig(AppConfig):
    """AppConfig of a service app: loads its command handlers and its event declarations."""

    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        import_module(f"{self.name}.commands")
        import_module(f"{self.name}.events")
