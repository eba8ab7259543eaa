"""The orders event store: one stream per order in the orders alias, and its repository."""

from edn_core.eventsourcing import EventCodec
from edn_core.eventsourcing.repository import EventSourcedRepository
from edn_core.eventsourcing.sealing import SealingCodec
from edn_core.eventsourcing.store import EventStore
from orders.domain import EVENTS, Order

codec = SealingCodec(EventCodec(*EVENTS), "orders")  # the shipping address is sealed
store = EventStore("orders", "order", codec)
orders = EventSourcedRepository(Order, store)
