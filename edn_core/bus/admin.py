"""Admin for each app's bus tables: outbox, inbox and failed deliveries (with replay).

The rows are read-only. "Publish again" needs the outbox's change permission, "Replay now"
the failed deliveries' (``<app>.change_outboxmessage``, ``<app>.change_faileddelivery``):
they change those rows' state. Pruning rows needs the delete permission, as in Django.
"""

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from edn_core.admin import ReadOnlyAdminMixin
from edn_core.bus import retries
from edn_core.bus.dispatch import FAILED
from edn_core.bus.stores import store_for

__all__ = ["register_bus_admin"]


def _pretty(raw: str) -> str:
    try:
        return format_html("<pre>{}</pre>", json.dumps(json.loads(raw), indent=2))
    except ValueError:
        return format_html("<pre>{}</pre>", raw)


class BusTableAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    deletable = True  # an operator may prune sent, handled or dead rows


class OutboxAdmin(BusTableAdmin):
    list_display = ("id", "topic", "aggregate_id", "sequence", "created_at", "sent_at", "attempts")
    list_filter = ("topic", ("sent_at", admin.EmptyFieldListFilter))
    search_fields = ("event_id", "aggregate_id", "topic")
    readonly_fields = ("pretty_envelope",)
    actions = ["publish_again"]

    @admin.display(description="envelope")
    def pretty_envelope(self, obj):
        return _pretty(obj.envelope)

    @admin.action(description="Publish again (consumers drop duplicates)", permissions=["operate"])
    def publish_again(self, request, queryset):
        count = queryset.update(sent_at=None)
        self.message_user(request, f"{count} message(s) queued for publishing again")


class InboxAdmin(BusTableAdmin):
    list_display = (
        "consumer",
        "topic",
        "event_id",
        "aggregate_id",
        "sequence",
        "outcome",
        "processed_at",
    )
    list_filter = ("consumer", "topic", "outcome")
    search_fields = ("event_id", "aggregate_id")


class FailedDeliveryAdmin(BusTableAdmin):
    list_display = (
        "consumer",
        "topic",
        "event_id",
        "status",
        "attempts",
        "next_attempt_at",
        "short_error",
        "updated_at",
    )
    list_filter = ("status", "consumer", "topic")
    search_fields = ("event_id", "last_error")
    readonly_fields = ("pretty_envelope",)
    actions = ["replay"]

    @admin.display(description="last error")
    def short_error(self, obj):
        return (obj.last_error or "")[:120]

    @admin.display(description="envelope")
    def pretty_envelope(self, obj):
        return _pretty(obj.envelope)

    @admin.action(description="Replay now", permissions=["operate"])
    def replay(self, request, queryset):
        store = store_for(queryset.model._meta.app_label)
        unresolved = queryset.exclude(status=queryset.model.RESOLVED)
        outcomes = [retries.replay(store, row) for row in unresolved]  # delivery outcomes
        level = messages.SUCCESS if FAILED not in outcomes else messages.WARNING
        summary = ", ".join(f"{outcomes.count(o)} {o}" for o in sorted(set(outcomes)))
        self.message_user(request, f"replayed: {summary or 'nothing'}", level)


def register_bus_admin(app_label: str, site: admin.AdminSite = admin.site) -> None:
    """Register the bus tables ``app_label`` declares (outbox, inbox, failed deliveries)."""
    store = store_for(app_label)
    site.register(store.outbox, OutboxAdmin)
    site.register(store.inbox, InboxAdmin)
    site.register(store.failures, FailedDeliveryAdmin)
