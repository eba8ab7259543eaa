"""Admin building blocks shared by the platform's and the apps' admin pages.

Every custom admin view and action checks the Django model permission of what it changes;
being staff only opens the admin. Actions that send a command on a read-only table (replay,
publish again, retry, cancel) declare ``permissions=["operate"]``: the user must hold the
model's *change* permission, though the rows themselves stay read-only in the forms.

The pages show times in the admin's time zone (``TIME_ZONE``) to the second, durations in
ms, s or min, and long ids shortened in monospace with the whole id in the title (the
search finds a row by the shown part). ``ADMIN_CSS`` styles them: list it in a model
admin's ``Media``. Importing this module (Django's admin does, for every installed app)
names the admin after the platform and the services the process hosts.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince

__all__ = [
    "ADMIN_CSS",
    "ReadOnlyAdminMixin",
    "ago",
    "badge",
    "brand",
    "breakable",
    "duration",
    "holds_permission",
    "local_time",
    "short_id",
]

ADMIN_CSS = "edn_core/admin.css"


def holds_permission(request, action: str, model) -> bool:
    """Whether the request's user holds Django's ``action`` permission (``view``, ``add``,
    ``change`` or ``delete``) on ``model``, whatever an admin class says of the model."""
    opts = model._meta
    return request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")


class ReadOnlyAdminMixin:
    """Show rows, never add or edit them here: state changes go through commands (an admin
    action sends one) or arrive with events. Put it before ``admin.ModelAdmin`` or an inline.

    ``deletable = True`` keeps Django's delete permission (bus tables an operator may prune).
    An action declared with ``permissions=["operate"]`` is offered to, and run for, users
    with the model's change permission only.
    """

    deletable = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.deletable and super().has_delete_permission(request, obj)  # type: ignore[misc]

    def has_operate_permission(self, request, obj=None) -> bool:
        return holds_permission(request, "change", self.model)  # type: ignore[attr-defined]


def local_time(value: datetime | str | None, *, date: bool = True) -> str:
    """Return ``value`` (a datetime or an ISO 8601 string) in the admin's time zone, to the
    second: ``2025-03-01 14:05:09``, or ``14:05:09`` without ``date``; "" for none."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S")


def ago(value: datetime | None) -> SafeString | str:
    """Return how long ago ``value`` was (``4 minutes ago``, ``just now``), its local time in
    the title; "" for none."""
    if value is None:
        return ""
    if (timezone.now() - value).total_seconds() < 60:
        said = "just now"
    else:
        said = f"{timesince(value, depth=1)} ago"
    return format_html('<span class="edn-time" title="{}">{}</span>', local_time(value), said)


def duration(ms: float | None) -> str:
    """Return a duration given in milliseconds as people read it: ``0.4 ms``, ``27 ms``,
    ``1.25 s``, ``3 min 5 s``, ``2 h 10 min``; "" for none."""
    if ms is None:
        return ""
    if ms < 9.95:
        return f"{ms:.1f} ms"
    if ms < 999.5:
        return f"{ms:.0f} ms"
    if ms < 59_995:
        return f"{ms / 1000:.2f} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    return f"{minutes // 60} h {minutes % 60} min"


def short_id(value, length: int = 8) -> SafeString:
    """Return an id shortened to its first ``length`` characters, in monospace, that never
    wraps; the whole id is its title (shown on hover)."""
    text = str(value or "")
    shown = text if len(text) <= length + 1 else f"{text[:length]}…"
    return format_html('<span class="edn-id" title="{}">{}</span>', text, shown)


def badge(word: str, tone: str) -> SafeString:
    """Return ``word`` as a coloured label; ``tone`` is ``ok``, ``bad``, ``undo``, ``busy`` or
    ``idle`` (the word carries the meaning, the colour only helps the eye)."""
    return format_html('<span class="edn-badge edn-{}">{}</span>', tone, word)


def breakable(name: str) -> SafeString:
    """Return a dotted or snake_case name (a consumer, a topic) that may wrap after its dots
    and underscores only, so a narrow column breaks it where a reader expects."""
    parts = re.split(r"(?<=[._])", name)
    return format_html_join(mark_safe("<wbr>"), "{}", ((part,) for part in parts))


def brand(site: admin.AdminSite = admin.site) -> None:
    """Name ``site`` after the platform and the services this process hosts, and point its
    "View site" link at the API documentation (the project has no other home page)."""
    services = ", ".join(getattr(settings, "EDN_SERVICES", ())) or "no service app"
    site.site_title = "Event Driven Django"
    site.site_header = format_html(
        'Event Driven Django <span style="font-size:.6em;opacity:.85">· {}</span>', services
    )
    site.index_title = "Administration of the hosted services"
    site.site_url = reverse_lazy("swagger-ui")


brand()
