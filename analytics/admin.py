"""Analytics in Django admin. Changes go through the command handlers, like the API's;
the activity is read-only (its subscriptions keep it)."""

from django.contrib import admin, messages

from analytics import commands
from analytics.models import AnalyticsActivity, AnalyticsRecord
from edn_core.admin import ReadOnlyAdminMixin
from edn_core.bus.admin import register_bus_admin
from edn_core.cqrs import send


@admin.register(AnalyticsRecord)
class AnalyticsAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "updated_at")
    search_fields = ("name",)
    readonly_fields = ("id", "version", "created_at", "updated_at")
    fields = ("id", "version", "name", "created_at", "updated_at")

    def save_model(self, request, obj, form, change):
        if change:
            command = commands.RenameAnalytics(
                analytics_id=obj.pk, expected_version=obj.version, name=obj.name
            )
        else:
            command = commands.CreateAnalytics(name=obj.name)
        result = send(command)
        if result.accepted:
            obj.pk, obj.version = result.value.id, result.value.version
        else:
            self.message_user(
                request, f"Not saved: {result.message} {result.errors or ''}", messages.ERROR
            )

    def has_delete_permission(self, request, obj=None):
        return False  # no command deletes one (add one to the domain first)


@admin.register(AnalyticsActivity)
class AnalyticsActivityAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("occurred_at", "topic", "subject", "event_id", "recorded_at")
    list_filter = ("topic",)
    search_fields = ("subject", "event_id")


register_bus_admin("analytics")
