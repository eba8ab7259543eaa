from edn_core import apps


class AnalyticsConfig(apps.ServiceAppConfig):
    name = "analytics"
