"""Orders in Django admin: read-only here; state changes go through the API's commands."""

from django.contrib import admin

from edn_core.admin import ReadOnlyAdminMixin
from edn_core.bus.admin import register_bus_admin
from orders.models import OrderView


@admin.register(OrderView)
class OrderViewAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("order_id", "customer_id", "state", "order_total", "placed_at", "version")
    list_filter = ("state", "generation")
    search_fields = ("order_id", "customer_id")


register_bus_admin("orders")
