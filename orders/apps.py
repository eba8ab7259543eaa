from edn_core import apps


class OrdersConfig(apps.ServiceAppConfig):
    name = "orders"

    def ready(self):
        super().ready()
        from edn_core.eventsourcing.projections import register
        from orders.projections import order_list

        register(order_list)  # the orders list follows the store in every bus worker
