"""Read side of analytics: the order statistics of a range of windows, from the per-minute
read models (each minute's rows of every source partition added up)."""

from uuid import UUID

from django.db.models import QuerySet, Sum

from analytics.domain import Window, WindowRange
from analytics.read_models import OrderMinute, ProductMinute


def _windows(rows: QuerySet, span: WindowRange) -> list[Window]:
    first, last = span.minutes_span()
    minutes = (
        rows.filter(window_start__gte=first, window_start__lt=last)
        .values("window_start")
        .order_by()  # the models' ordering would split the groups by partition
        .annotate(orders=Sum("orders"), units=Sum("units"), revenue=Sum("revenue"))
        .values_list("window_start", "orders", "units", "revenue")
    )
    return span.fold(list(minutes))


def order_windows(span: WindowRange) -> list[Window]:
    """Orders placed, units and revenue in every window of ``span``, oldest first."""
    return _windows(OrderMinute.objects.all(), span)


def product_windows(product_id: UUID, span: WindowRange) -> list[Window]:
    """The same for one product (zeros for a product never ordered)."""
    return _windows(ProductMinute.objects.filter(product_id=product_id), span)
