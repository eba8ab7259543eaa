"""A subject's readers and planned breaks on its admin page: which consumer reads which
fields (``*`` marks a field it requires), and who registered a version that broke a reader,
when and why. Both are read-only here: readers come from ``edn_schemas register`` or the REST
API, overrides from a registration that named them."""

from django.contrib import admin
from django.utils.html import format_html_join

from edn_core.readers import fields_read
from schema_registry.models import Reader, ReaderOverride


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReaderInline(ReadOnlyInline):
    model = Reader
    verbose_name = "reader"
    verbose_name_plural = "readers (what each consumer reads; * required)"
    fields = ("consumer", "reads", "registered_by", "registered_at")
    readonly_fields = fields

    @admin.display(description="fields it reads")
    def reads(self, obj):
        read = fields_read(obj.schema.document)
        if not read:
            return "nothing (any event)"
        return format_html_join(
            ", ",
            "<code>{}{}</code>",
            ((field, "*" if required else "") for field, required in read),
        )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("schema")


class ReaderOverrideInline(ReadOnlyInline):
    model = ReaderOverride
    verbose_name = "planned break"
    verbose_name_plural = "planned breaks (versions registered although they break a reader)"
    fields = ("version", "consumer", "what", "by", "reason", "at")
    readonly_fields = fields

    @admin.display(description="breaks")
    def what(self, obj):
        return format_html_join(
            ", ",
            "<code>{}</code> [{}]",
            ((c["field"] or "(event)", c["rule"]) for c in obj.conflicts),
        )
