"""Orders in Django admin: read-only here; state changes go through the API's commands."""

from django.contrib import admin

from edn_core.admin import ReadOnlyAdminMixin
from edn_core.bus.admin import register_bus_admin
from edn_core.eventsourcing.admin import register_projection_admin
from edn_core.eventsourcing.stream_admin import StreamAdminMixin
from orders.models import OrderView
from orders.store import orders


@admin.register(OrderView)
class OrderViewAdmin(StreamAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The orders list; each order links to its stream (events and the state after each)."""

    stream_repository = orders
    stream_id_field = "order_id"
    list_display = (
        "order_id",
        "customer_id",
        "state",
        "order_total",
        "placed_at",
        "version",
        "stream",
    )
    list_filter = ("state", "generation")
    search_fields = ("order_id", "customer_id")


register_bus_admin("orders")
register_projection_admin("orders")
