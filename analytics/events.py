"""Integration events analytics publishes (schemas in analytics/schemas/);
the topics it handles are recorded as activity (``GET /api/analytics/activity``, admin).

A domain event crosses the service boundary only when it is declared here: renames stay inside.
"""

from analytics import commands
from analytics.domain import AnalyticsCreated
from edn_core.bus.subscriptions import subscribe
from edn_core.cqrs import send
from edn_core.events import publishes


@publishes(AnalyticsCreated, topic="v1.AnalyticsCreated")
def analytics_created(event: AnalyticsCreated) -> dict:
    return {"analyticsId": str(event.aggregate_id), "name": event.name}


@subscribe("v1.OrderPlaced", batch=True)
def record_order_placed(events) -> None:
    """Record each event as activity (one command per delivery batch): react here."""
    send(commands.RecordActivity(events=events)).value_or_raise()
