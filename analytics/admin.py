"""Analytics in Django admin: the order statistics read models and the app's bus tables,
read-only (the stream processors keep the statistics)."""

from django.contrib import admin

from analytics.read_models import CustomerSession, OrderMinute, ProductMinute
from edn_core.admin import ReadOnlyAdminMixin
from edn_core.bus.admin import register_bus_admin
from edn_core.streams.admin import register_streams_admin

FIGURES = ("window_start", "window_end", "partition", "orders", "units", "revenue", "final")


@admin.register(OrderMinute)
class OrderMinuteAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = FIGURES
    list_filter = ("final",)
    date_hierarchy = "window_start"


@admin.register(ProductMinute)
class ProductMinuteAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("product_id", *FIGURES)
    list_filter = ("final",)
    search_fields = ("product_id",)
    date_hierarchy = "window_start"


@admin.register(CustomerSession)
class CustomerSessionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("customer_id", "session_start", "session_end", "orders", "partition", "final")
    list_filter = ("final",)
    search_fields = ("customer_id",)
    date_hierarchy = "session_start"


register_bus_admin("analytics")
register_streams_admin("analytics")  # processors: dead letters (replay), positions, late records
