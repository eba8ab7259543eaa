"""Manage schemas in Django admin: read each version highlighted, register a new one (checked
first), compare two side by side with the verdict, set a mode, soft-delete. The register and
compare pages live in :mod:`schema_registry.admin_views`.

Being staff opens the admin; each page and action also needs the model permission of what it
reads or changes (app ``schema_registry``), and answers 403 without it:

- the subjects list and pages: ``view_subject``; a subject's mode (its form): ``change_subject``;
  the global mode (*Registry configs*): ``change_registryconfig``;
- **Compare versions**, and the versions' documents on the subject page:
  ``view_schemaversion``;
- **Register a new version**: ``add_schemaversion`` (it adds a version), also to open the form;
- the **Soft-delete** action: ``delete_subject`` (it deletes the subject's versions, softly);
- the readers and planned breaks on the subject page: ``view_reader``, ``view_readeroverride``.

The two pages need ``view_subject`` too. Links and actions a user may not use are not shown.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Max, Q

from edn_core.admin import holds_permission
from edn_core.cqrs import send
from schema_registry import commands, queries
from schema_registry.admin_readers import ReaderInline, ReaderOverrideInline
from schema_registry.admin_views import SubjectPages
from schema_registry.models import RegistryConfig, SchemaVersion, Subject


@admin.register(Subject)
class SubjectAdmin(SubjectPages, admin.ModelAdmin):
    list_display = ("name", "mode", "latest_version", "deleted", "created_at")
    list_filter = ("deleted", "compatibility")
    search_fields = ("name",)
    fields = ("name", "compatibility", "deleted")
    readonly_fields = ("name", "deleted")
    actions = ["soft_delete"]
    change_form_template = "schema_registry/subject_change_form.html"
    inlines = [ReaderInline, ReaderOverrideInline]

    @admin.display(description="compatibility")
    def mode(self, obj):
        return obj.compatibility or f"{queries.global_compatibility()} (default)"

    @admin.display(description="latest", ordering="latest")
    def latest_version(self, obj):
        return obj.latest

    def get_queryset(self, request):
        live = Q(versions__deleted=False)
        return super().get_queryset(request).annotate(latest=Max("versions__version", filter=live))

    @admin.action(description="Soft-delete the selected subjects", permissions=["delete"])
    def soft_delete(self, request, queryset):
        for subject in queryset:
            send(commands.DeleteSubject(subject=subject.name))
        self.message_user(request, f"{queryset.count()} subject(s) deleted")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # a hard delete would bypass the registry
        return actions

    def has_add_permission(self, request):
        return False  # a subject comes with its first version (API, edn_schemas, migrate_all)

    def delete_view(self, request, object_id, extra_context=None):
        raise PermissionDenied("Subjects are deleted softly, with the action of the list.")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if "compatibility" in form.base_fields:
            default = queries.global_compatibility()
            form.base_fields["compatibility"].help_text = f"blank: the global default ({default})"
        return form

    def save_model(self, request, obj, form, change):
        # Blank stays blank: the subject follows the global mode, whatever it becomes.
        send(commands.SetCompatibility(subject=obj.name, mode=obj.compatibility))

    def may(self, request, action: str) -> bool:
        """Whether the user may ``action`` (``view`` or ``add``) the versions of subjects."""
        return self.has_view_permission(request) and holds_permission(
            request, action, SchemaVersion
        )

    def render_change_form(self, request, context, add=False, change=False, **kwargs):
        context["may_register"] = self.may(request, "add")
        context["show_delete"] = False  # deleted softly, from the list
        context["show_save_and_add_another"] = False
        context["may_compare"] = self.may(request, "view")
        if context["may_compare"] and context.get("original") is not None:
            context.update(self.versions_context(context["original"]))
        return super().render_change_form(request, context, add, change, **kwargs)

    def get_urls(self):
        return [*self.subject_urls(), *super().get_urls()]


@admin.register(RegistryConfig)
class RegistryConfigAdmin(admin.ModelAdmin):
    list_display = ("compatibility",)

    def has_delete_permission(self, request, obj=None):
        return False  # the global mode is set, never deleted

    def save_model(self, request, obj, form, change):
        send(commands.SetCompatibility(subject=None, mode=obj.compatibility))
