from django.apps import AppConfig


class SchemaRegistryConfig(AppConfig):
    name = "schema_registry"
    verbose_name = "Schema registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from edn_core import schemas
        from schema_registry.source import LocalSchemaSource

        schemas.install_local_source(LocalSchemaSource())
