"""Orders in Django admin: read-only here; state changes go through the API's commands."""

from django.contrib import admin

from edn_core.admin import ReadOnlyAdminMixin
from edn_core.bus.admin import register_bus_admin
from orders.models import OrderItemRecord, OrderRecord


class OrderItemInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderItemRecord
    extra = 0
    readonly_fields = ("position", "product_id", "product_name", "product_price", "quantity")


@admin.register(OrderRecord)
class OrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "customer_id", "state", "ship_city", "created_at", "version")
    list_filter = ("state",)
    search_fields = ("id", "customer_id")
    inlines = [OrderItemInline]


register_bus_admin("orders")
