"""Orders' tables: the event store (its streams, snapshots, projection positions, subject
keys), the orders list read model, and the bus tables."""

from uuid import UUID

from django.db import models
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from edn_core.bus import models as bus
from edn_core.eventsourcing.models import (
    ProjectionStateBase,
    SnapshotBase,
    StoredEventBase,
    SubjectKeyBase,
)
from edn_core.sql_reads import compiled_rows
from orders.domain import OrderState


class OutboxMessage(bus.OutboxMessageBase):
    pass


class InboxEntry(bus.InboxEntryBase):
    pass


class FailedDelivery(bus.FailedDeliveryBase):
    pass


class AggregateCheckpoint(bus.AggregateCheckpointBase):
    pass


FIRST_EVENTS = ["OrderImported", "OrderPlaced"]  # the event that starts an order's stream


def customer_id_in_data():
    """The indexed expression (a plain text comparison: no JSON ``IN`` semantics)."""
    return Cast(KeyTextTransform("customer_id", "data"), models.TextField())


class OrderEvent(StoredEventBase):
    """The orders' event store: one stream per order (``stream_id`` = the order id)."""

    class Meta(StoredEventBase.Meta):
        indexes = [
            *StoredEventBase.Meta.indexes,
            # the orders of a customer are found from the first event of their streams
            models.Index(
                customer_id_in_data(),
                condition=models.Q(type__in=FIRST_EVENTS),
                name="orders_event_first_customer",
            ),
        ]

    @classmethod
    def streams_of_customers(cls, alias: str, customer_ids) -> list[UUID]:
        """The ids of every order of these customers (one index scan; the SQL compiled once
        per number of customers: every delivery of an address change asks)."""

        def query(customers: list[str]):
            rows = cls.objects.using(alias).annotate(customer=customer_id_in_data())
            rows = rows.filter(type__in=FIRST_EVENTS, customer__in=customers)
            return rows.values_list("stream_id")

        ids = [str(c) for c in customer_ids]
        rows = compiled_rows("orders.streams_of_customers", alias, query, ids)
        return [UUID(stream) for (stream,) in rows]


class OrderSnapshot(SnapshotBase):
    pass


class ProjectionState(ProjectionStateBase):
    pass


class SubjectKey(SubjectKeyBase):
    pass


class OrderView(models.Model):
    """The orders list, a read model the ``order_list`` projection writes from the store.

    One row per order and projection ``generation``: a rebuild writes the next generation
    beside the live one, which keeps serving until the swap (decision 0070).
    """

    row = models.BigAutoField(primary_key=True)
    generation = models.PositiveIntegerField()
    order_id = models.UUIDField()
    version = models.PositiveIntegerField()
    customer_id = models.UUIDField()
    shipping_address = models.JSONField()
    items = models.JSONField()
    order_total = models.DecimalField(max_digits=20, decimal_places=2)
    state = models.CharField(max_length=10, choices=[(s.value, s.value) for s in OrderState])
    rejection_reason = models.CharField(max_length=500, blank=True)
    placed_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "orders_order_view"
        verbose_name = "order (list view)"
        ordering = ("-placed_at", "order_id")
        constraints = [
            models.UniqueConstraint(
                fields=["generation", "order_id"], name="orders_view_order_once"
            )
        ]
        indexes = [
            models.Index(fields=["generation", "customer_id", "state"]),
            models.Index(fields=["generation", "-placed_at", "order_id"]),
        ]

    def __str__(self) -> str:
        return f"order {self.order_id} ({self.state}, generation {self.generation})"

    @property
    def id(self):
        return self.order_id
