from edn_core import apps


class InventoryConfig(apps.ServiceAppConfig):
    name = "inventory"
