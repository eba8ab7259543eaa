from edn_core.cqrs.routes import resource
from orders.api import OrderCommands, OrderQueries

urlpatterns = resource(
    "orders",
    commands=OrderCommands,
    queries=OrderQueries,
    basename="orders",
    actions=("ship", "cancel"),
    views=("events",),
)
