from analytics.api import StatsQueries
from edn_core.cqrs.routes import route

urlpatterns = [
    route("stats/orders", "stats-orders", GET=StatsQueries.as_view({"get": "orders"})),
    route(
        "stats/products/<uuid:productId>",
        "stats-product",
        GET=StatsQueries.as_view({"get": "product"}),
    ),
]
