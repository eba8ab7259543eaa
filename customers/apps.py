from edn_core.apps import ServiceAppConfig


class CustomersConfig(ServiceAppConfig):
    name = "customers"
