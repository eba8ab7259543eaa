"""Saga state in Django admin: a list filtered by state, type and age; a detail page with the
step timeline; actions to retry a failed compensation and to cancel a stuck saga. Both need
``sagas.change_sagarecord`` (they change the saga's state); the rows stay read-only."""

import json
from datetime import timedelta

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from edn_core.admin import ReadOnlyAdminMixin
from edn_core.bus.admin import register_bus_admin
from edn_core.cqrs import send
from sagas import commands
from sagas.api import with_durations
from sagas.models import SagaRecord

TIMELINE_HEAD = (
    "<tr><th>step</th><th>phase</th><th>state</th><th>started</th><th>ended</th>"
    "<th>duration</th><th>messages</th></tr>"
)
AGES = {"1m": timedelta(minutes=1), "10m": timedelta(minutes=10), "1h": timedelta(hours=1),
        "1d": timedelta(days=1)}  # fmt: skip


class AgeFilter(admin.SimpleListFilter):
    title, parameter_name = "age", "older_than"

    def lookups(self, request, model_admin):
        return [(code, f"older than {code}") for code in AGES]

    def queryset(self, request, queryset):
        age = AGES.get(self.value() or "")
        return queryset.filter(created_at__lte=timezone.now() - age) if age else queryset


def _phase_row(step: str, kind: str, phase: dict):
    messages_ = [*phase["sent"], *phase["received"]]
    payloads = format_html_join(
        "", '<details><summary>{} {}{}</summary><pre style="white-space:pre-wrap;'
        'word-break:break-all;max-width:40em">{}</pre></details>',
        ((("sent" if m in phase["sent"] else "received"), m["topic"],
          " (ignored: late)" if m.get("ignored") else "", json.dumps(m["data"], indent=2))
         for m in messages_),
    )  # fmt: skip
    duration = "" if phase["durationMs"] is None else f"{phase['durationMs']:.1f} ms"
    return format_html(
        '<tr class="saga-phase saga-{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
        "<td>{}</td><td>{}</td><td>{}</td></tr>",
        phase["state"].lower(), step, kind, phase["state"], phase["startedAt"] or "",
        phase["endedAt"] or "", duration, payloads,
    )  # fmt: skip


@admin.register(SagaRecord)
class SagaAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "saga_type",
        "key",
        "state",
        "current_step_name",
        "created_at",
        "updated_at",
    )
    list_filter = ("state", "saga_type", AgeFilter)
    search_fields = ("id", "key")
    date_hierarchy = "created_at"
    fields = ("id", "saga_type", "key", "state", "current_step_name", "reason", "deadline",
              "version", "created_at", "updated_at", "timeline", "saga_data")  # fmt: skip
    readonly_fields = fields
    actions = ["retry_compensation", "cancel_saga"]

    @admin.display(description="current step")
    def current_step_name(self, obj):
        return obj.current_step_name

    @admin.display(description="data")
    def saga_data(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.data, indent=2))

    @admin.display(description="step timeline")
    def timeline(self, obj):
        rows = [
            _phase_row(step["name"], kind, step[kind])
            for step in with_durations(obj.steps)
            for kind in ("action", "compensation")
            if step[kind]["state"] != "NotStarted"
        ]
        head = mark_safe(TIMELINE_HEAD)  # a constant: no user data in it
        return format_html(
            '<div style="overflow-x:auto;max-width:100%">'
            '<table class="saga-timeline">{}{}</table></div>',
            head,
            format_html_join("", "{}", ((row,) for row in rows)),
        )

    @admin.action(description="Retry the failed compensation", permissions=["operate"])
    def retry_compensation(self, request, queryset):
        self._each(request, queryset, lambda row: commands.RetryCompensation(
            saga_id=row.pk, expected_version=row.version))  # fmt: skip

    @admin.action(description="Cancel (stuck saga: compensate)", permissions=["operate"])
    def cancel_saga(self, request, queryset):
        reason = f"cancelled in admin by {request.user.get_username()}"
        self._each(request, queryset, lambda row: commands.CancelSaga(
            saga_id=row.pk, reason=reason, expected_version=row.version))  # fmt: skip

    def _each(self, request, queryset, command_for):
        for row in queryset:
            result = send(command_for(row))
            level = messages.SUCCESS if result.accepted else messages.ERROR
            self.message_user(request, f"saga {row.pk}: {result.message or 'done'}", level)


register_bus_admin("sagas")
