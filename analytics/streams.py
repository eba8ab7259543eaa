"""The analytics pipelines: live order statistics from the orders' events.

The stream feed (``edn_core.streams.feed``, hosted in ``analytics.events``) appends the
events of ``EDN_STREAMS["orders"]`` to the ``orders`` stream: key the order's id, value the
envelope ``{"id", "type", "time", "sequence", "data"}`` (see ``analytics.domain``). Three
windowed aggregations count the placed orders on event time (``time``: when the order was
placed), each emitting on update so the read models follow the orders as they come, then
once more, final, when the window closes (``analytics.processors`` declares them):

- ``order_minutes``: orders, units and revenue per minute (tumbling, one key ``"all"``);
- ``product_minutes``: the same per product (each order line is a record keyed by product);
- ``customer_sessions``: each customer's bursts of orders, 30 minutes of inactivity apart.

Window state is kept per source partition, so the first two write a partition's share of a
minute and the readers add the shares up. Sessions cannot be shared out that way: all the
orders of a customer must meet in one partition, and the ``orders`` stream is keyed by
order. So ``analytics.events`` also appends each placed order, keyed by its customer, to
``analytics.customer-orders`` (the database log on this service's alias, in the delivery's
transaction: exactly once), and ``customer_sessions`` reads that stream.
"""

from __future__ import annotations

from datetime import timedelta
from operator import itemgetter

from analytics import domain
from edn_core.streams import reducers as r
from edn_core.streams import windows as w
from edn_core.streams.pipeline import Aggregation, Pipeline, value_time
from edn_core.streams.port import NewEntry

__all__ = [
    "CUSTOMER_ORDERS_PARTITIONS",
    "CUSTOMER_ORDERS_STREAM",
    "ORDERS_STREAM",
    "customer_order_entry",
    "customer_sessions",
    "order_minutes",
    "product_minutes",
]

ORDERS_STREAM = "orders"
CUSTOMER_ORDERS_STREAM = "analytics.customer-orders"
CUSTOMER_ORDERS_PARTITIONS = 8
MINUTE = timedelta(minutes=1)
GRACE = timedelta(seconds=10)  # how late an order may come and still count in its window
SESSION_GAP = timedelta(minutes=30)

placed_at = value_time("time")
placed = Pipeline(time=placed_at).filter(domain.is_order_placed)


def _figures() -> dict[str, r.Reducer]:
    return {
        "orders": r.count(),
        "units": r.sum("units"),
        "revenue": r.sum("revenue", decimal=True),
    }


order_minutes: Aggregation = (
    placed.map(domain.order_figures)
    .key_by(lambda _figures: domain.ALL_ORDERS)
    .window(w.tumbling(MINUTE, grace=GRACE))
    .aggregate(**_figures(), emit="update")
)

product_minutes: Aggregation = (
    placed.flat_map(domain.order_lines)
    .key_by(itemgetter("productId"))
    .window(w.tumbling(MINUTE, grace=GRACE))
    .aggregate(**_figures(), emit="update")
)

customer_sessions: Aggregation = (
    Pipeline(time=placed_at)  # entries of analytics.customer-orders: keyed by customer
    .window(w.session(SESSION_GAP, grace=GRACE))
    .aggregate(orders=r.count(), emit="update")
)


def customer_order_entry(envelope: dict, event_id: str) -> NewEntry:
    """The ``analytics.customer-orders`` entry of a placed order (its event's envelope):
    keyed by the customer; appending it twice (same event id) adds it once."""
    value = domain.customer_order(envelope)
    return NewEntry(value["customerId"], value, id=event_id)
