"""Integration events of analytics: it publishes none; it receives the orders' events.

- ``feed_streams``: the events of the topics in ``EDN_STREAMS`` are appended to their streams
  (the ``orders`` stream, keyed by order), which the stream processors read
  (``analytics.processors``);
- each placed order is also appended, keyed by its customer, to the
  ``analytics.customer-orders`` stream that the customer sessions read (``analytics.streams``).
"""

from analytics import commands, domain
from edn_core.bus.subscriptions import subscribe
from edn_core.cqrs import send
from edn_core.streams.feed import feed_streams

FEED = feed_streams("analytics")


@subscribe(domain.ORDER_PLACED, batch=True)
def append_customer_orders(events) -> None:
    """Placed orders keyed by customer (one command per delivery batch)."""
    send(commands.AppendCustomerOrders(events=events)).value_or_raise()
