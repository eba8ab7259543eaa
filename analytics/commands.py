"""Write side of analytics: placed orders re-keyed by customer, and the stream processors'
outputs into the read models.

Nothing is asked of analytics over HTTP and it owns no aggregate. It writes twice:

- ``AppendCustomerOrders`` (sent by its handler of v1.OrderPlaced): the orders keyed by their
  customer in the ``analytics.customer-orders`` stream, which the sessions read;
- the writers below, which the stream processors' runtime calls with a batch's ``Output``
  records in the transaction that also commits the processor's state and positions
  (``analytics.processors``), on the alias ``using`` (and ``clear`` empties a read model
  when its processor starts over). They are idempotent upserts (one statement per batch on
  PostgreSQL, ``upsert_rows``), so the read models always equal the processors' last
  committed view:

- ``"update"``: the window's value so far (the row is created or replaced);
- ``"final"``: the window closed: its last value, marked ``final`` (never changed again);
- ``"retract"`` (sessions only): the session was merged into another: its row goes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from django.db.models import Q

from analytics import streams
from analytics.read_models import CustomerSession, OrderMinute, ProductMinute
from edn_core.cqrs import Command, handles
from edn_core.events import IntegrationEvent
from edn_core.eventsourcing.readmodels import upsert_rows
from edn_core.streams.feed import append_creating, entry_of, log_for
from edn_core.streams.pipeline import Output
from edn_core.streams.windows import from_ms

__all__ = [
    "AppendCustomerOrders",
    "clear",
    "write_customer_sessions",
    "write_order_minutes",
    "write_product_minutes",
]

FIGURES = ["window_end", "orders", "units", "revenue", "final"]
DELETE_CHUNK = 200  # sessions retracted per DELETE statement


@dataclass(frozen=True, kw_only=True)
class AppendCustomerOrders(Command):
    """Append placed orders (v1.OrderPlaced events) to the customers' stream."""

    events: list[IntegrationEvent]


@handles(AppendCustomerOrders)
def append_customer_orders(cmd: AppendCustomerOrders) -> int:
    """One append per batch, on this app's database log (in the caller's transaction); an
    event appended before is not appended again (its id is the entry's). Returns the count."""
    entries = [streams.customer_order_entry(entry_of(e).value, e.id) for e in cmd.events]
    name = streams.CUSTOMER_ORDERS_STREAM  # not in EDN_STREAMS: the app's own database stream
    append_creating(log_for("analytics", name), name, streams.CUSTOMER_ORDERS_PARTITIONS, entries)
    return len(entries)


def _figures(output: Output) -> dict:
    value = output.value
    return {
        "partition": output.partition,
        "window_start": from_ms(output.start),
        "window_end": from_ms(output.end),
        "orders": value["orders"],
        "units": value["units"],
        "revenue": Decimal(value["revenue"]),
        "final": output.kind == "final",
    }


def _kept(outputs: Iterable[Output]) -> list[Output]:
    """The outputs to upsert, the last one per window (a batch gives one, but a caller may
    hand several batches' outputs at once)."""
    last = {(o.partition, o.key, o.start): o for o in outputs if o.kind != "retract"}
    return list(last.values())


def write_order_minutes(outputs: Iterable[Output], using: str) -> int:
    """Upsert the per-minute figures of every order; return the rows written."""
    rows = [OrderMinute(**_figures(o)) for o in _kept(outputs)]
    upsert_rows(OrderMinute, using, rows, ["window_start", "partition"], FIGURES)
    return len(rows)


def write_product_minutes(outputs: Iterable[Output], using: str) -> int:
    """Upsert the per-minute figures of each product (the outputs' key); return the rows."""
    rows = [ProductMinute(product_id=UUID(o.key), **_figures(o)) for o in _kept(outputs)]
    upsert_rows(ProductMinute, using, rows, ["product_id", "window_start", "partition"], FIGURES)
    return len(rows)


def write_customer_sessions(outputs: Iterable[Output], using: str) -> int:
    """Delete the retracted sessions, then upsert the others (key: the customer); return the
    rows written and deleted."""
    outputs = list(outputs)
    retracted = [
        Q(
            partition=o.partition,
            customer_id=UUID(o.key),
            session_start=from_ms(o.start),
            session_end=from_ms(o.end),
        )
        for o in outputs
        if o.kind == "retract"
    ]
    deleted = 0
    for at in range(0, len(retracted), DELETE_CHUNK):
        chunk = retracted[at : at + DELETE_CHUNK]
        condition = chunk[0]
        for more in chunk[1:]:
            condition |= more
        deleted += CustomerSession.objects.using(using).filter(condition).delete()[0]
    rows = [
        CustomerSession(
            partition=o.partition,
            customer_id=UUID(o.key),
            session_start=from_ms(o.start),
            session_end=from_ms(o.end),
            orders=o.value["orders"],
            final=o.kind == "final",
        )
        for o in _kept(outputs)
    ]
    unique = ["customer_id", "session_start", "partition"]
    upsert_rows(CustomerSession, using, rows, unique, ["session_end", "orders", "final"])
    return len(rows) + deleted


def clear(model: type[OrderMinute | ProductMinute | CustomerSession]):
    """The ``clear(using)`` of a processor writing ``model``: its rows go when the processor
    starts over (``edn_core.streams.runtime.forget``)."""

    def clear_rows(using: str) -> None:
        model.objects.using(using).delete()

    clear_rows.__name__ = f"clear_{model._meta.model_name}"
    return clear_rows
