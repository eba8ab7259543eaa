"""Read side of customers: selectors over the customers alias."""

from uuid import UUID

from django.db.models import Q, QuerySet

from customers.models import CustomerRecord


def list_customers(*, name: str | None = None) -> QuerySet[CustomerRecord]:
    """Return customers ordered by name; ``name`` matches first or last name, any case."""
    rows = CustomerRecord.objects.all()
    if name:
        rows = rows.filter(Q(first_name__icontains=name) | Q(last_name__icontains=name))
    return rows


def get_customer(customer_id: UUID) -> CustomerRecord | None:
    return CustomerRecord.objects.filter(pk=customer_id).first()
