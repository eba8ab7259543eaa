"""In one process on SQLite, as after ``scripts/run``: orders placed through the API reach
analytics over the bus, the feed appends them to the ``orders`` stream (``EDN_STREAMS`` of the
project's settings; and by customer to ``analytics.customer-orders``), the processors run,
and the statistics answer over HTTP."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.read_models import CustomerSession
from edn_core.streams import feed, processors
from edn_core.streams.database import DatabaseLog
from edn_core.streams.runtime import run
from edn_core.testing import EventBus

pytestmark = pytest.mark.django_db(databases="__all__")
ADDRESS = {"street": "1 Main St", "city": "Bath", "state": "Somerset", "country": "UK"}


def place(api, customer, *items):
    body = {
        "customerId": str(customer),
        "shippingAddress": {**ADDRESS, "postalCode": "BA1 1AA"},
        "items": [
            {"productId": str(p), "productName": "Tea", "productPrice": price, "quantity": q}
            for p, q, price in items
        ],
    }
    response = api.post("/api/orders", body, format="json")
    assert response.status_code == 202, response.content


def caught_up(round_) -> bool:
    return round_.consumed == 0


def test_placed_orders_become_statistics(api):
    ada, bob, tea, cake = (uuid.uuid4() for _ in range(4))
    place(api, ada, (tea, 2, "3.50"), (cake, 1, "4.25"))
    place(api, bob, (tea, 1, "3.50"))
    place(api, ada, (cake, 3, "4.25"))
    EventBus().run_until_quiet()
    for name, log in [
        ("analytics.order-minutes", feed.log_for("analytics", "orders")),
        ("analytics.product-minutes", feed.log_for("analytics", "orders")),
        ("analytics.customer-sessions", DatabaseLog("analytics")),
    ]:
        assert run(processors.get(name), log, until=caught_up, poll=0, errors="raise") > 0

    now = timezone.now()
    query = {
        "window": "PT1H",
        "from": (now - timedelta(hours=2)).isoformat(),
        "to": (now + timedelta(hours=1)).isoformat(),
    }

    def totals(url):
        response = api.get(url, query)
        assert response.status_code == 200, response.content
        windows = response.json()["results"]
        return (
            sum(w["orders"] for w in windows),
            sum(w["units"] for w in windows),
            sum(Decimal(w["revenue"]) for w in windows),
        )

    assert totals("/api/stats/orders") == (3, 7, Decimal("27.50"))
    assert totals(f"/api/stats/products/{tea}") == (2, 3, Decimal("10.50"))
    assert totals(f"/api/stats/products/{cake}") == (2, 4, Decimal("17.00"))
    sessions = {row.customer_id: row.orders for row in CustomerSession.objects.all()}
    assert sessions == {ada: 2, bob: 1}
