"""The revocation list (read-only: it follows the events) and the app's bus tables."""

from django.contrib import admin

from edn_core.admin import ReadOnlyAdminMixin
from edn_core.bus.admin import register_bus_admin
from edn_core.revocations import APP
from edn_core.revocations.models import Revocation


@admin.register(Revocation)
class RevocationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("subject", "not_before", "reason", "recorded_at")
    search_fields = ("subject",)


register_bus_admin(APP)
