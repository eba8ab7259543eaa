from edn_core import apps


class CustomersConfig(apps.ServiceAppConfig):
    name = "customers"
