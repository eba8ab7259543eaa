from edn_core.cqrs.routes import resource
from inventory.api import ProductCommands, ProductQueries

urlpatterns = resource(
    "inventory", commands=ProductCommands, queries=ProductQueries, basename="inventory"
)
