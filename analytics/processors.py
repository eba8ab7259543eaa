"""The analytics stream processors (found by ``edn_core.streams.processors``): each runs one
aggregation of ``analytics.streams`` and writes its outputs into a read model with a writer of
``analytics.commands``, in the transaction that commits its state (``edn_streams run NAME``).

Windows close on event time only (no ``close_idle_after``): the read models show every
window's value as it changes, so closing a quiet partition's windows by the clock would add
nothing but the risk of turning orders that the bus delivers late into late records.
"""

from analytics import commands, streams
from analytics.read_models import CustomerSession, OrderMinute, ProductMinute
from edn_core.streams.conf import streams_settings
from edn_core.streams.processors import Processor, register


def _orders_partitions() -> int | None:
    """The ``orders`` stream's partitions as configured (the feed creates it with them)."""
    config = streams_settings().streams.get(streams.ORDERS_STREAM)
    return config.partitions if config else None


ORDER_MINUTES = register(
    Processor(
        name="analytics.order-minutes",
        stream=streams.ORDERS_STREAM,
        aggregation=streams.order_minutes,
        app_label="analytics",
        write=commands.write_order_minutes,
        clear=commands.clear(OrderMinute),
        partitions=_orders_partitions(),
    )
)
PRODUCT_MINUTES = register(
    Processor(
        name="analytics.product-minutes",
        stream=streams.ORDERS_STREAM,
        aggregation=streams.product_minutes,
        app_label="analytics",
        write=commands.write_product_minutes,
        clear=commands.clear(ProductMinute),
        partitions=_orders_partitions(),
    )
)
CUSTOMER_SESSIONS = register(
    Processor(
        name="analytics.customer-sessions",
        stream=streams.CUSTOMER_ORDERS_STREAM,
        aggregation=streams.customer_sessions,
        app_label="analytics",
        write=commands.write_customer_sessions,
        clear=commands.clear(CustomerSession),
        partitions=streams.CUSTOMER_ORDERS_PARTITIONS,
    )
)
