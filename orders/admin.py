"""Orders in Django admin: read-only here; state changes go through the API's commands."""

from django.contrib import admin

from edn_core.bus.admin import register_bus_admin
from orders.models import FailedDelivery, InboxEntry, OrderItemRecord, OrderRecord, OutboxMessage


class OrderItemInline(admin.TabularInline):
    model = OrderItemRecord
    extra = 0
    can_delete = False
    readonly_fields = ("position", "product_id", "product_name", "product_price", "quantity")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(OrderRecord)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("id", "customer_id", "state", "ship_city", "created_at", "version")
    list_filter = ("state",)
    search_fields = ("id", "customer_id")
    inlines = [OrderItemInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


register_bus_admin(OutboxMessage, InboxEntry, FailedDelivery)
