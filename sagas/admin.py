"""Saga state in Django admin, as an operator looks for it.

The list shows each saga's short id, type, key (the order id of a create-order saga), state,
the step it is at while it runs or waits for an operator (none once it finished) and when it
last changed; it filters by state, by "stuck" (running and unchanged for over 5, 15 or 60
minutes) and by type, and searches order ids, saga ids and the saga's data. The detail page
shows the timeline in the order things ran (:mod:`sagas.admin_timeline`).

"Retry the failed compensation" and "Cancel" need ``sagas.change_sagarecord`` (they change
the saga's state); the rows stay read-only.
"""

import json
from datetime import timedelta

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from edn_core.admin import (
    ADMIN_CSS,
    ReadOnlyAdminMixin,
    ago,
    badge,
    duration,
    local_time,
    short_id,
)
from edn_core.bus.admin import register_bus_admin
from edn_core.cqrs import send
from sagas import commands
from sagas.admin_timeline import timeline
from sagas.models import SagaRecord
from sagas.states import WAITING, SagaState

TONES = {
    SagaState.EXECUTED: "ok",
    SagaState.EXECUTING: "busy",
    SagaState.COMPENSATING: "undo",
    SagaState.COMPENSATED: "undo",
    SagaState.NEEDS_ATTENTION: "bad",
}
STUCK_MINUTES = (5, 15, 60)


class StuckFilter(admin.SimpleListFilter):
    """Running sagas (executing or compensating) whose state has not changed for a while:
    waiting for a reply that may not come. Cancel one to make it compensate."""

    title, parameter_name = "stuck (running, unchanged)", "stuck_for"

    def lookups(self, request, model_admin):
        return [(str(minutes), f"for over {minutes} minutes") for minutes in STUCK_MINUTES]

    def queryset(self, request, queryset):
        if self.value() not in {str(minutes) for minutes in STUCK_MINUTES}:
            return queryset
        unchanged_since = timezone.now() - timedelta(minutes=int(self.value()))
        running = [state.value for state in WAITING]
        return queryset.filter(state__in=running, updated_at__lt=unchanged_since)


@admin.register(SagaRecord)
class SagaAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("saga", "saga_type", "saga_key", "state_badge", "step_now", "changed")
    list_filter = ("state", StuckFilter, "saga_type")
    search_fields = ("id", "key", "data")
    search_help_text = (
        "An order id or its first characters (as the list shows them), a saga id, or any "
        "value in the saga's data, such as a customer id."
    )
    date_hierarchy = "created_at"
    summary = [
        ("saga_full_id", "saga_type", "definition_version"),
        ("saga_full_key", "state_badge", "step_now"),
        "reason",
        ("started", "changed_at", "took", "deadline_at"),
    ]
    fieldsets = [(None, {"fields": summary})]
    readonly_fields = [name for row in summary for name in ([row] if isinstance(row, str) else row)]
    actions = ["retry_compensation", "cancel_saga"]

    class Media:
        css = {"all": [ADMIN_CSS, "sagas/admin.css"]}

    @admin.display(description="saga", ordering="id")
    def saga(self, obj):
        return short_id(obj.pk)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("history")  # replay's, not the admin's

    @admin.display(description="saga id")
    def saga_full_id(self, obj):
        return format_html('<span class="edn-id">{}</span>', obj.pk)

    @admin.display(description="key", ordering="key")
    def saga_key(self, obj):
        return short_id(obj.key)

    @admin.display(description="key (e.g. the order id)")
    def saga_full_key(self, obj):
        return format_html('<span class="edn-id">{}</span>', obj.key)

    @admin.display(description="state", ordering="state")
    def state_badge(self, obj):
        return badge(obj.state, TONES.get(obj.state, "idle"))

    @admin.display(description="current step")
    def step_now(self, obj):
        """The step a running saga waits on, or the one that needs an operator; none once the
        saga finished (executed or compensated)."""
        name = obj.current_step_name
        if obj.state == SagaState.EXECUTING:
            return name
        if obj.state == SagaState.COMPENSATING:
            return f"{name} (compensating)"
        if obj.state == SagaState.NEEDS_ATTENTION and name:
            kind = "compensation" if self._compensation_failed(obj) else "action"
            return f"{name} ({kind} failed)"
        return self.get_empty_value_display()

    @admin.display(description="changed", ordering="updated_at")
    def changed(self, obj):
        return ago(obj.updated_at)

    @admin.display(description="started")
    def started(self, obj):
        return local_time(obj.created_at)

    @admin.display(description="last change")
    def changed_at(self, obj):
        return format_html("{} ({})", local_time(obj.updated_at), ago(obj.updated_at))

    @admin.display(description="took")
    def took(self, obj):
        end = timezone.now() if obj.state in WAITING else obj.updated_at
        took = duration((end - obj.created_at).total_seconds() * 1000)
        return f"running for {took}" if obj.state in WAITING else took

    @admin.display(description="deadline")
    def deadline_at(self, obj):
        return local_time(obj.deadline) or self.get_empty_value_display()

    @staticmethod
    def _compensation_failed(obj) -> bool:
        step = obj.steps[obj.current_step]
        return step["compensation"]["state"] in {"Failed", "TimedOut"}

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(
                saga_timeline=timeline(obj.steps),
                saga_data=json.dumps(obj.data, indent=2, ensure_ascii=False),
                time_zone=timezone.get_current_timezone_name(),
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

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
