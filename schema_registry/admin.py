"""Manage schemas in Django admin: register (refused with reasons), compare, set mode, delete.

Being staff opens the admin; each page and action also needs the model permission of what it
reads or changes (app ``schema_registry``), and answers 403 without it:

- the subjects list and pages: ``view_subject``; a subject's mode (its form): ``change_subject``;
  the global mode (*Registry configs*): ``change_registryconfig``;
- **Compare versions**: ``view_schemaversion`` (it shows the versions' documents, as the
  subject page's version list does);
- **Register a new version**: ``add_schemaversion`` (it adds a version), also to open the form;
- the **Soft-delete** action: ``delete_subject`` (it deletes the subject's versions, softly).

The two pages need ``view_subject`` too. Links and actions a user may not use are not shown.
"""

import difflib
import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from edn_core.admin import holds_permission
from edn_core.cqrs import Outcome, send
from schema_registry import commands, queries
from schema_registry.models import RegistryConfig, SchemaVersion, Subject


class RegisterForm(forms.Form):
    document = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 20, "cols": 100}), label="JSON Schema (draft 2020-12)"
    )

    def clean_document(self):
        try:
            return json.loads(self.cleaned_data["document"])
        except ValueError as error:
            raise forms.ValidationError(f"Not JSON: {error}") from None


class VersionInline(admin.TabularInline):
    model = SchemaVersion
    extra = 0
    can_delete = False
    fields = ("version", "schema", "deleted", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


def _version_number(request, name: str, default: int, known: dict) -> int:
    raw = request.GET.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or int(raw) not in known:
        raise BadRequest(f"{name}: no version {raw!r}")
    return int(raw)


@admin.register(Subject)
class SubjectAdmin(admin.ModelAdmin):
    list_display = ("name", "mode", "latest_version", "deleted", "created_at")
    list_filter = ("deleted", "compatibility")
    search_fields = ("name",)
    fields = ("name", "compatibility", "deleted")
    readonly_fields = ("name", "deleted")
    inlines = [VersionInline]
    actions = ["soft_delete"]
    change_form_template = "schema_registry/subject_change_form.html"

    @admin.display(description="compatibility")
    def mode(self, obj):
        return obj.compatibility or f"{queries.global_compatibility()} (default)"

    @admin.display(description="latest")
    def latest_version(self, obj):
        return (
            obj.versions.filter(deleted=False)
            .order_by("-version")
            .values_list("version", flat=True)
            .first()
        )

    @admin.action(description="Soft-delete the selected subjects", permissions=["delete"])
    def soft_delete(self, request, queryset):
        for subject in queryset:
            send(commands.DeleteSubject(subject=subject.name))
        self.message_user(request, f"{queryset.count()} subject(s) deleted")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # a hard delete would bypass the registry
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        raise PermissionDenied("Subjects are deleted softly, with the action of the list.")

    def save_model(self, request, obj, form, change):
        send(
            commands.SetCompatibility(
                subject=obj.name, mode=obj.compatibility or queries.global_compatibility()
            )
        )

    def may(self, request, action: str) -> bool:
        """Whether the user may ``action`` (``view`` or ``add``) the versions of subjects."""
        return self.has_view_permission(request) and holds_permission(
            request, action, SchemaVersion
        )

    def render_change_form(self, request, context, add=False, change=False, **kwargs):
        context["may_register"] = self.may(request, "add")
        context["show_delete"] = False  # deleted softly, from the list
        context["may_compare"] = self.may(request, "view")
        return super().render_change_form(request, context, add, change, **kwargs)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/register/", view(self.register_view), name="schema_registry_register"),
            path("<int:pk>/compare/", view(self.compare_view), name="schema_registry_compare"),
            *super().get_urls(),
        ]

    def _subject(self, request, pk: int, action: str) -> Subject:
        if not self.may(request, action):
            raise PermissionDenied
        subject = self.get_object(request, str(pk))
        if subject is None:
            raise Http404(f"No subject {pk}.")
        return subject

    def register_view(self, request, pk):
        subject = self._subject(request, pk, "add")
        form = RegisterForm(request.POST or None)
        reasons, incompatible = [], False
        if request.method == "POST" and form.is_valid():
            document = form.cleaned_data["document"]
            result = send(commands.RegisterSchema(subject=subject.name, document=document))
            if result.accepted:
                registered = f"version {result.value.version} (id {result.value.id})"
                self.message_user(request, f"Registered {subject.name} {registered}")
                return redirect("admin:schema_registry_subject_change", subject.pk)
            reasons = result.details.get("reasons") or [result.message]
            incompatible = result.outcome == Outcome.CONFLICT
            messages.error(request, "Refused: the schema was not registered.")
        context = {
            **self.admin_site.each_context(request),
            "subject": subject,
            "form": form,
            "reasons": reasons,
            "incompatible": incompatible,
            "title": f"Register a version of {subject.name}",
            "mode": subject.compatibility or queries.global_compatibility(),
        }
        return TemplateResponse(request, "schema_registry/register.html", context)

    def compare_view(self, request, pk):
        subject = self._subject(request, pk, "view")
        rows = subject.versions.select_related("schema").order_by("version")
        by_number = {v.version: v for v in rows}
        numbers = list(by_number)
        if not numbers:
            raise Http404(f"{subject.name} has no versions.")
        left = _version_number(request, "left", numbers[max(len(numbers) - 2, 0)], by_number)
        right = _version_number(request, "right", numbers[-1], by_number)
        text = {
            n: json.dumps(by_number[n].schema.document, indent=2, sort_keys=True)
            for n in (left, right)
        }
        table = difflib.HtmlDiff(wrapcolumn=70).make_table(
            text[left].splitlines(), text[right].splitlines(), f"version {left}", f"version {right}"
        )
        context = {
            **self.admin_site.each_context(request),
            "subject": subject,
            "numbers": numbers,
            "left": left,
            "right": right,
            "table": table,
            "title": f"Compare versions of {subject.name}",
        }
        return TemplateResponse(request, "schema_registry/compare.html", context)


@admin.register(RegistryConfig)
class RegistryConfigAdmin(admin.ModelAdmin):
    list_display = ("compatibility",)

    def has_delete_permission(self, request, obj=None):
        return False  # the global mode is set, never deleted

    def save_model(self, request, obj, form, change):
        send(commands.SetCompatibility(subject=None, mode=obj.compatibility))
