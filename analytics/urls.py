from analytics.api import ActivityQueries, AnalyticsCommands, AnalyticsQueries
from edn_core.cqrs.routes import resource, route

urlpatterns = [
    *resource(
        "analytics",
        commands=AnalyticsCommands,
        queries=AnalyticsQueries,
        basename="analytics",
    ),
    route(
        "analytics/activity",
        "analytics-activity",
        GET=ActivityQueries.as_view({"get": "list"}),
    ),
]
