from edn_core import apps


class OrdersConfig(apps.ServiceAppConfig):
    name = "orders"
