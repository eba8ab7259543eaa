from importlib import import_module

from django.apps import AppConfig


class RevocationsConfig(AppConfig):
    name = "edn_core.revocations"
    label = "edn_revocations"
    verbose_name = "Token revocations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from edn_core.revocations import signals

        import_module("edn_core.revocations.events")  # the topic it sends, its subscription
        signals.connect()
