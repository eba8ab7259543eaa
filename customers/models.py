"""Persistence of the Customer aggregate, and its mapping to and from the domain."""

from decimal import Decimal

from django.db import models
from django.utils import timezone

from customers.domain import Address, Customer
from edn_core.bus import models as bus
from edn_core.persistence import Repository
from edn_core.reservations import ReservationBase


class CustomerRecord(models.Model):
    id = models.UUIDField(primary_key=True)
    version = models.PositiveIntegerField()
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    street = models.CharField(max_length=200)
    city = models.CharField(max_length=100)
    state = models.CharField(max_length=100)
    country = models.CharField(max_length=100)
    postal_code = models.CharField(max_length=20)
    credit_limit = models.DecimalField(max_digits=12, decimal_places=2)
    credit_reserved = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "customers_customer"
        verbose_name = "customer"
        ordering = ("last_name", "first_name", "id")
        indexes = [models.Index(fields=["last_name", "first_name"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(credit_limit__gte=0), name="customer_credit_limit_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(credit_reserved__lte=models.F("credit_limit")),
                name="customer_reserved_within_limit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def shipping_address(self) -> Address:
        return Address(self.street, self.city, self.state, self.country, self.postal_code)

    @property
    def credit_available(self) -> Decimal:
        return self.credit_limit - self.credit_reserved


class CustomerRepository(Repository[Customer]):
    model = CustomerRecord

    def to_domain(self, row: CustomerRecord) -> Customer:
        return Customer(
            row.id,
            first_name=row.first_name,
            last_name=row.last_name,
            shipping_address=row.shipping_address,
            credit_limit=row.credit_limit,
            credit_reserved=row.credit_reserved,
            version=row.version,
        )

    def to_fields(self, customer: Customer) -> dict:
        address = customer.shipping_address
        return {
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "street": address.street,
            "city": address.city,
            "state": address.state,
            "country": address.country,
            "postal_code": address.postal_code,
            "credit_limit": customer.credit_limit,
            "credit_reserved": customer.credit_reserved,
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


class CreditReservation(ReservationBase):
    """Credit held for a saga (an order), so a repeated or late request has no second effect."""

    class Meta(ReservationBase.Meta):
        db_table = "customers_credit_reservation"
