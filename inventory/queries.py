"""Read side of inventory: selectors over the inventory alias."""

from uuid import UUID

from django.db.models import QuerySet

from inventory.models import ProductRecord


def list_products(*, description: str | None = None) -> QuerySet[ProductRecord]:
    rows = ProductRecord.objects.all()
    if description:
        rows = rows.filter(description__icontains=description)
    return rows


def get_product(product_id: UUID) -> ProductRecord | None:
    return ProductRecord.objects.filter(pk=product_id).first()
