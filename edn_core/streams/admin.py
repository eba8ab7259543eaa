"""Admin for an app's stream processors: dead letters (with replay), positions, late records
and window results, all read-only (the runtime writes them). "Replay" needs the dead letters'
change permission (``<app>.change_<dead letter model>``): it changes their state.

A processor's dead letter is named and kept as the bus's are (:mod:`edn_core.bus.admin`): an
entry it could not process, *retrying* while attempts remain, then *dead letter* until a
replay went through (*resolved*)."""

from __future__ import annotations

import json
from collections import Counter

from django.contrib import admin, messages
from django.utils.html import format_html

from edn_core.admin import ADMIN_CSS, ReadOnlyAdminMixin, ago, badge, local_time
from edn_core.bus.stores import find_model
from edn_core.streams.runtime_models import (
    ProcessorDeadLetterBase,
    ProcessorLateRecordBase,
    ProcessorPositionBase,
    WindowResultBase,
)
from edn_core.streams.runtime_replay import replay_dead_letter

__all__ = [
    "DeadLetterAdmin",
    "LateRecordAdmin",
    "PositionAdmin",
    "WindowResultAdmin",
    "register_streams_admin",
]


TONES = {"retrying": "busy", "dead": "bad", "replay": "busy", "resolved": "ok"}


def _pretty(value) -> str:
    shown = json.dumps(value, indent=2, default=str, ensure_ascii=False)
    return format_html('<pre class="edn-json">{}</pre>', shown)


class ProcessorTableAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    class Media:
        css = {"all": [ADMIN_CSS]}


class DeadLetterAdmin(ProcessorTableAdmin):
    """Entries a processor could not process; "Replay" runs them again (after a fix)."""

    deletable = True  # an operator may prune resolved ones
    list_display = (
        "processor",
        "stream",
        "partition",
        "offset",
        "state",
        "attempts",
        "short_error",
        "changed",
    )
    list_filter = ("status", "processor", "stream")
    search_fields = ("key", "error")
    fields = ("processor", "stream", ("partition", "offset", "key"),
              ("state", "attempts", "next_attempt"), ("appended", "changed"), "error_text",
              "pretty_value", "headers")  # fmt: skip
    readonly_fields = ("state", "next_attempt", "appended", "changed", "error_text", "pretty_value")
    actions = ["replay"]

    @admin.display(description="status", ordering="status")
    def state(self, obj):
        return badge(obj.get_status_display(), TONES.get(obj.status, "idle"))

    @admin.display(description="next attempt")
    def next_attempt(self, obj):
        return local_time(obj.next_attempt_at) or "none"

    @admin.display(description="appended to the stream")
    def appended(self, obj):
        return local_time(obj.appended_at)

    @admin.display(description="changed", ordering="updated_at")
    def changed(self, obj):
        return ago(obj.updated_at)

    @admin.display(description="error")
    def error_text(self, obj):
        return format_html('<pre class="edn-json">{}</pre>', obj.error)

    @admin.display(description="error")
    def short_error(self, obj) -> str:
        lines = (obj.error or "").strip().splitlines()
        return lines[-1][:120] if lines else ""

    @admin.display(description="value")
    def pretty_value(self, obj) -> str:
        return _pretty(obj.value)

    @admin.action(
        description="Replay (run the entry again through its processor)", permissions=["operate"]
    )
    def replay(self, request, queryset):
        app_label, outcomes = queryset.model._meta.app_label, Counter()
        for pk in queryset.values_list("pk", flat=True):
            try:
                outcomes[replay_dead_letter(app_label, pk)] += 1
            except LookupError:  # its processor is not declared in this process
                outcomes["of a processor not declared here"] += 1
        good = {"replayed", "queued", "resolved"}
        level = messages.SUCCESS if set(outcomes) <= good else messages.WARNING
        summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
        self.message_user(request, f"replay: {summary or 'nothing selected'}", level)


class PositionAdmin(ProcessorTableAdmin):
    list_display = ("processor", "partition", "offset", "stream_time", "late", "updated_at")
    list_filter = ("processor",)


class LateRecordAdmin(ProcessorTableAdmin):
    deletable = True
    list_display = ("processor", "partition", "offset", "key", "time", "stream_time", "recorded_at")
    list_filter = ("processor",)
    search_fields = ("key",)
    exclude = ("value",)  # shown once, indented, as pretty_value
    readonly_fields = ("pretty_value",)

    @admin.display(description="value")
    def pretty_value(self, obj) -> str:
        return _pretty(obj.value)


class WindowResultAdmin(ProcessorTableAdmin):
    list_display = ("processor", "key", "start", "end", "final", "partition", "updated_at")
    list_filter = ("processor", "final")
    search_fields = ("key",)


ADMINS = {
    ProcessorDeadLetterBase: DeadLetterAdmin,
    ProcessorPositionBase: PositionAdmin,
    ProcessorLateRecordBase: LateRecordAdmin,
    WindowResultBase: WindowResultAdmin,
}


def register_streams_admin(app_label: str, site: admin.AdminSite = admin.site) -> None:
    """Register the processor tables ``app_label`` declares (dead letters, positions, late
    records, window results; open windows are internal state)."""
    for base, model_admin in ADMINS.items():
        site.register(find_model(app_label, base), model_admin)
