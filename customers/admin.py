"""Customers in Django admin. Changes go through the command handlers, like the API's."""

from django.contrib import admin, messages

from customers import commands
from customers.models import CustomerRecord
from edn_core.bus.admin import register_bus_admin
from edn_core.cqrs import send

ADDRESS = ("street", "city", "state", "country", "postal_code")


@admin.register(CustomerRecord)
class CustomerAdmin(admin.ModelAdmin):
    list_display = (
        "last_name",
        "first_name",
        "city",
        "country",
        "credit_limit",
        "credit_reserved",
        "version",
        "updated_at",
    )
    search_fields = ("first_name", "last_name", "city", "postal_code")
    list_filter = ("country",)
    readonly_fields = ("id", "version", "credit_reserved", "created_at", "updated_at")
    fields = (
        "id",
        "version",
        "first_name",
        "last_name",
        *ADDRESS,
        "credit_limit",
        "credit_reserved",
        "created_at",
        "updated_at",
    )

    def save_model(self, request, obj, form, change):
        details = {
            "first_name": obj.first_name,
            "last_name": obj.last_name,
            "credit_limit": obj.credit_limit,
            "shipping_address": {name: getattr(obj, name) for name in ADDRESS},
        }
        if change:
            result = send(
                commands.UpdateCustomer(customer_id=obj.pk, expected_version=obj.version, **details)
            )
        else:
            result = send(commands.CreateCustomer(**details))
        self._report(request, result, obj)

    def delete_model(self, request, obj):
        result = send(commands.DeleteCustomer(customer_id=obj.pk, expected_version=obj.version))
        self._report(request, result, obj)

    def _report(self, request, result, obj):
        if result.accepted:
            if result.value is not None:
                obj.pk, obj.version = result.value.id, result.value.version
        else:
            self.message_user(
                request, f"Not saved: {result.message} {result.errors or ''}", messages.ERROR
            )


register_bus_admin("customers")
