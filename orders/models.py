"""Persistence of the Order aggregate, and its mapping to and from the domain."""

from decimal import Decimal

from django.db import models
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from edn_core.bus import models as bus
from edn_core.eventsourcing.models import (
    ProjectionStateBase,
    SnapshotBase,
    StoredEventBase,
    SubjectKeyBase,
)
from edn_core.persistence import Repository
from orders.domain import Address, Order, OrderItem, OrderState

ADDRESS_PARTS = ("street", "city", "state", "country", "postal_code")


class OrderRecord(models.Model):
    id = models.UUIDField(primary_key=True)
    version = models.PositiveIntegerField()
    customer_id = models.UUIDField(db_index=True)
    ship_street = models.CharField(max_length=200)
    ship_city = models.CharField(max_length=100)
    ship_state = models.CharField(max_length=100)
    ship_country = models.CharField(max_length=100)
    ship_postal_code = models.CharField(max_length=20)
    state = models.CharField(max_length=10, choices=[(s.value, s.value) for s in OrderState])
    rejection_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "orders_order"
        verbose_name = "order"
        ordering = ("-created_at", "id")
        indexes = [models.Index(fields=["customer_id", "state"])]

    def __str__(self) -> str:
        return f"order {self.id} ({self.state})"

    @property
    def shipping_address(self) -> Address:
        return Address(*(getattr(self, f"ship_{part}") for part in ADDRESS_PARTS))

    @property
    def order_total(self) -> Decimal:
        return sum((i.product_price * i.quantity for i in self.items.all()), Decimal("0"))


class OrderItemRecord(models.Model):
    order = models.ForeignKey(OrderRecord, related_name="items", on_delete=models.CASCADE)
    position = models.PositiveSmallIntegerField()
    product_id = models.UUIDField()
    product_name = models.CharField(max_length=200)
    product_price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField()

    class Meta:
        db_table = "orders_order_item"
        ordering = ("order", "position")
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="orders_item_position_once")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_name}"


class OrderRepository(Repository[Order]):
    model = OrderRecord

    def load(self, rows) -> list[Order]:
        """The orders of ``rows`` with their lines, read for all of them in one more query
        (plain values: no related managers to build per order)."""
        rows = list(rows)
        lines: dict = {row.pk: [] for row in rows}
        if rows:
            found = OrderItemRecord.objects.using(self.alias).filter(order_id__in=list(lines))
            fields = ("order_id", "product_id", "product_name", "product_price", "quantity")
            for order_id, *item in found.order_by("order_id", "position").values_list(*fields):
                lines[order_id].append(OrderItem(*item))
        return [self._order(row, tuple(lines[row.pk])) for row in rows]

    def to_domain(self, row: OrderRecord) -> Order:
        return self.load([row])[0]

    @staticmethod
    def _order(row: OrderRecord, items: tuple[OrderItem, ...]) -> Order:
        return Order(
            row.id,
            customer_id=row.customer_id,
            shipping_address=row.shipping_address,
            items=items,
            state=OrderState(row.state),
            rejection_reason=row.rejection_reason,
            version=row.version,
        )

    def to_fields(self, order: Order) -> dict:
        address = order.shipping_address
        return {
            **{f"ship_{part}": getattr(address, part) for part in ADDRESS_PARTS},
            "customer_id": order.customer_id,
            "state": order.state.value,
            "rejection_reason": order.rejection_reason,
            "updated_at": timezone.now(),
        }

    def add(self, order: Order) -> None:
        super().add(order)
        OrderItemRecord.objects.using(self.alias).bulk_create(
            OrderItemRecord(
                order_id=order.id,
                position=n,
                product_id=i.product_id,
                product_name=i.product_name,
                product_price=i.product_price,
                quantity=i.quantity,
            )
            for n, i in enumerate(order.items)
        )


class OutboxMessage(bus.OutboxMessageBase):
    pass


class InboxEntry(bus.InboxEntryBase):
    pass


class FailedDelivery(bus.FailedDeliveryBase):
    pass


class AggregateCheckpoint(bus.AggregateCheckpointBase):
    pass


class OrderEvent(StoredEventBase):
    """The orders' event store: one stream per order (``stream_id`` = the order id)."""

    class Meta(StoredEventBase.Meta):
        indexes = [
            *StoredEventBase.Meta.indexes,
            # the open orders of a customer are found from their OrderPlaced event
            models.Index(
                KeyTextTransform("customer_id", "data"),
                condition=models.Q(type="OrderPlaced"),
                name="orders_event_placed_customer",
            ),
        ]


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
