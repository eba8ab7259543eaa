from django.apps import AppConfig


class EdnCoreConfig(AppConfig):
    name = "edn_core"
    verbose_name = "Event Driven Django core"
