"""Admin for an app's projection states: where each generation stands, how far behind the
store it is, its last error, and (PostgreSQL) the oldest transaction holding projections back."""

from __future__ import annotations

from django.contrib import admin
from django.db import connections
from django.utils import timezone

from edn_core.admin import ReadOnlyAdminMixin
from edn_core.bus.stores import find_model
from edn_core.eventsourcing import generations, projections
from edn_core.eventsourcing.models import ProjectionStateBase

__all__ = ["ProjectionStateAdmin", "oldest_running_transaction", "register_projection_admin"]

_OLDEST = """
SELECT pid, backend_xid::text, xact_start, state FROM pg_stat_activity
WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()
ORDER BY age(backend_xid) DESC LIMIT 1
"""


def oldest_running_transaction(alias: str) -> str:
    """The oldest transaction with an id on ``alias``'s database (it bounds what projections
    read, decision 0068), as text; ``-`` when none runs or on SQLite."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return "-"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(_OLDEST)
        found = cursor.fetchone()
    if found is None:
        return "-"
    pid, xid, started, state = found
    seconds = (timezone.now() - started).total_seconds() if started else 0
    return f"xid {xid}, pid {pid}, {state}, open {seconds:,.0f} s"


class ProjectionStateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "generation",
        "live",
        "position",
        "lag",
        "applied",
        "caught_up_at",
        "updated_at",
        "short_error",
        "oldest_transaction",
    )
    list_filter = ("name", "live")
    ordering = ("name", "-live", "generation")
    readonly_fields = ("lag", "oldest_transaction")

    @admin.display(description="lag (events)")
    def lag(self, obj: ProjectionStateBase):
        try:
            projection = projections.get(obj.name)
        except LookupError:
            return "not registered here"
        return generations.lag(projection, obj)

    @admin.display(description="last error")
    def short_error(self, obj: ProjectionStateBase):
        return (obj.last_error or "")[:120]

    @admin.display(description="oldest running transaction")
    def oldest_transaction(self, obj: ProjectionStateBase):
        return oldest_running_transaction(obj._state.db or "default")


def register_projection_admin(app_label: str, site: admin.AdminSite = admin.site) -> None:
    """Register ``app_label``'s projection state table (read-only)."""
    site.register(find_model(app_label, ProjectionStateBase), ProjectionStateAdmin)
