from edn_core.apps import ServiceAppConfig


class OrdersConfig(ServiceAppConfig):
    name = "orders"
