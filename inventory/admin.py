"""Products in Django admin. Changes go through the command handlers, like the API's."""

from django.contrib import admin, messages

from edn_core.bus.admin import register_bus_admin
from edn_core.cqrs import send
from inventory import commands
from inventory.models import ProductRecord


@admin.register(ProductRecord)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("description", "amount_available", "version", "updated_at")
    search_fields = ("description",)
    readonly_fields = ("id", "version", "created_at", "updated_at")
    fields = ("id", "version", "description", "amount_available", "created_at", "updated_at")

    def save_model(self, request, obj, form, change):
        details = {"description": obj.description, "amount_available": obj.amount_available}
        if change:
            result = send(
                commands.UpdateProduct(product_id=obj.pk, expected_version=obj.version, **details)
            )
        else:
            result = send(commands.CreateProduct(**details))
        if result.accepted:
            obj.pk, obj.version = result.value.id, result.value.version
        else:
            self.message_user(
                request, f"Not saved: {result.message} {result.errors or ''}", messages.ERROR
            )

    def has_delete_permission(self, request, obj=None):
        return False  # stock leaves through reservations, not deletions


register_bus_admin("inventory")
