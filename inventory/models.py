"""Persistence of the Product aggregate, and its mapping to and from the domain."""

from django.db import models
from django.utils import timezone

from edn_core.bus import models as bus
from edn_core.persistence import Repository
from edn_core.reservations import ReservationBase
from inventory.domain import Product


class ProductRecord(models.Model):
    id = models.UUIDField(primary_key=True)
    version = models.PositiveIntegerField()
    description = models.CharField(max_length=200)
    amount_available = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "inventory_product"
        verbose_name = "product"
        ordering = ("description", "id")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_available__gte=0), name="inventory_stock_not_negative"
            )
        ]

    def __str__(self) -> str:
        return self.description


class ProductRepository(Repository[Product]):
    model = ProductRecord

    def to_domain(self, row: ProductRecord) -> Product:
        return Product(
            row.id,
            description=row.description,
            amount_available=row.amount_available,
            version=row.version,
        )

    def to_fields(self, product: Product) -> dict:
        return {
            "description": product.description,
            "amount_available": product.amount_available,
            "updated_at": timezone.now(),
        }


class OutboxMessage(bus.OutboxMessageBase):
    pass


class InboxEntry(bus.InboxEntryBase):
    pass


class FailedDelivery(bus.FailedDeliveryBase):
    pass


class AggregateCheckpoint(bus.AggregateCheckpointBase):
    pass


class StockReservation(ReservationBase):
    """Stock held for a saga (an order), so a repeated or late request has no second effect."""

    class Meta(ReservationBase.Meta):
        db_table = "inventory_stock_reservation"
