"""Admin for each app's bus tables: outbox, inbox and dead letters (with replay).

A dead letter is a delivery whose handler failed, kept with its envelope: *retrying* while
attempts remain, *dead letter* once they ran out or the event can never be handled as it
is, *resolved* after a retry or a replay went through.

The rows are read-only. "Publish again" needs the outbox's change permission, "Replay now"
the dead letters' (``<app>.change_outboxmessage``, ``<app>.change_faileddelivery``): they
change those rows' state. Pruning rows needs the delete permission, as in Django.
"""

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from edn_core.admin import (
    ADMIN_CSS,
    ReadOnlyAdminMixin,
    ago,
    badge,
    breakable,
    duration,
    local_time,
    short_id,
)
from edn_core.bus import retries
from edn_core.bus.dispatch import FAILED
from edn_core.bus.stores import store_for

__all__ = ["register_bus_admin"]

STATUS_TONES = {"retrying": "busy", "dead": "bad", "resolved": "ok"}


def _pretty(raw: str) -> str:
    try:
        shown = json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    except ValueError:
        shown = raw
    return format_html('<pre class="edn-json">{}</pre>', shown)


class BusTableAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    deletable = True  # an operator may prune sent, handled or dead rows

    class Media:
        css = {"all": [ADMIN_CSS]}

    @admin.display(description="event id")
    def event(self, obj):
        return short_id(obj.event_id)

    @admin.display(description="envelope")
    def pretty_envelope(self, obj):
        return _pretty(obj.envelope)

    @admin.display(description="consumer", ordering="consumer")
    def consumer_name(self, obj):
        return breakable(obj.consumer)

    @admin.display(description="topic", ordering="topic")
    def topic_name(self, obj):
        return breakable(obj.topic)


class OutboxAdmin(BusTableAdmin):
    list_display = ("id", "topic_name", "aggregate", "created", "sent", "attempts")
    list_filter = ("topic", ("sent_at", admin.EmptyFieldListFilter))
    search_fields = ("event_id", "aggregate_id", "topic")
    fields = ("event_id", "topic", "aggregate_id", ("sequence", "partition", "attempts"),
              ("created", "sent_at_local"), "last_error", "pretty_envelope")  # fmt: skip
    readonly_fields = ("created", "sent_at_local", "pretty_envelope")
    actions = ["publish_again"]

    @admin.display(description="aggregate id", ordering="aggregate_id")
    def aggregate(self, obj):
        return short_id(obj.aggregate_id)

    @admin.display(description="created", ordering="created_at")
    def created(self, obj):
        return format_html('<span class="edn-time">{}</span>', local_time(obj.created_at))

    @admin.display(description="sent", ordering="sent_at")
    def sent(self, obj):
        if obj.sent_at is None:
            return badge("pending", "busy")
        after = duration((obj.sent_at - obj.created_at).total_seconds() * 1000)
        return format_html(
            '<span class="edn-time" title="{}">after {}</span>', local_time(obj.sent_at), after
        )

    @admin.display(description="sent")
    def sent_at_local(self, obj):
        if obj.sent_at is None:
            return self.sent(obj)
        return format_html("{} ({})", local_time(obj.sent_at), self.sent(obj))

    @admin.action(description="Publish again (consumers drop duplicates)", permissions=["operate"])
    def publish_again(self, request, queryset):
        count = queryset.update(sent_at=None)
        self.message_user(request, f"{count} message(s) queued for publishing again")


class InboxAdmin(BusTableAdmin):
    list_display = ("consumer_name", "topic_name", "event", "outcome", "processed")
    list_filter = ("consumer", "topic", "outcome")
    search_fields = ("event_id", "aggregate_id")

    @admin.display(description="processed", ordering="processed_at")
    def processed(self, obj):
        return format_html('<span class="edn-time">{}</span>', local_time(obj.processed_at))


class DeadLetterAdmin(BusTableAdmin):
    list_display = ("consumer_name", "topic_name", "status_line", "short_error", "changed")
    list_filter = ("status", "consumer", "topic")
    search_fields = ("event_id", "last_error")
    fields = ("consumer", "topic", "event_id", ("state", "attempts", "next_attempt"),
              ("created", "changed"), "error", "pretty_envelope")  # fmt: skip
    readonly_fields = ("state", "next_attempt", "created", "changed", "error", "pretty_envelope")
    actions = ["replay"]

    @admin.display(description="status", ordering="status")
    def state(self, obj):
        return badge(obj.get_status_display(), STATUS_TONES.get(obj.status, "idle"))

    @admin.display(description="status", ordering="status")
    def status_line(self, obj):
        tries = f"{obj.attempts} attempt{'s' if obj.attempts != 1 else ''}"
        return format_html('{}<div class="edn-muted">{}</div>', self.state(obj), tries)

    @admin.display(description="next attempt")
    def next_attempt(self, obj):
        return local_time(obj.next_attempt_at) or "none"

    @admin.display(description="first failed")
    def created(self, obj):
        return local_time(obj.created_at)

    @admin.display(description="changed", ordering="updated_at")
    def changed(self, obj):
        return ago(obj.updated_at)

    @admin.display(description="last error")
    def short_error(self, obj):
        error = obj.last_error or ""
        return error if len(error) <= 160 else f"{error[:160]}…"

    @admin.display(description="last error")
    def error(self, obj):
        return format_html('<pre class="edn-json">{}</pre>', obj.last_error)

    @admin.action(description="Replay now", permissions=["operate"])
    def replay(self, request, queryset):
        store = store_for(queryset.model._meta.app_label)
        unresolved = queryset.exclude(status=queryset.model.RESOLVED)
        outcomes = [retries.replay(store, row) for row in unresolved]  # delivery outcomes
        level = messages.SUCCESS if FAILED not in outcomes else messages.WARNING
        summary = ", ".join(f"{outcomes.count(o)} {o}" for o in sorted(set(outcomes)))
        self.message_user(request, f"replayed: {summary or 'nothing'}", level)


def register_bus_admin(app_label: str, site: admin.AdminSite = admin.site) -> None:
    """Register the bus tables ``app_label`` declares (outbox, inbox, dead letters)."""
    store = store_for(app_label)
    site.register(store.outbox, OutboxAdmin)
    site.register(store.inbox, InboxAdmin)
    site.register(store.failures, DeadLetterAdmin)
