"""Manage schemas in Django admin: register (refused with reasons), compare, set mode, delete."""

import difflib
import json

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from edn_core.cqrs import send
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


@admin.register(Subject)
class SubjectAdmin(admin.ModelAdmin):
    list_display = ("name", "mode", "latest_version", "deleted", "created_at")
    list_filter = ("deleted", "compatibility")
    search_fields = ("name",)
    fields = ("name", "compatibility", "deleted", "actions_links")
    readonly_fields = ("name", "deleted", "actions_links")
    inlines = [VersionInline]
    actions = ["soft_delete"]

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

    @admin.display(description="")
    def actions_links(self, obj):
        register = reverse("admin:schema_registry_register", args=[obj.pk])
        compare = reverse("admin:schema_registry_compare", args=[obj.pk])
        return format_html(
            '<a class="button" href="{}">Register a new version</a> '
            '<a class="button" href="{}">Compare versions</a>',
            register,
            compare,
        )

    @admin.action(description="Soft-delete the selected subjects")
    def soft_delete(self, request, queryset):
        for subject in queryset:
            send(commands.DeleteSubject(subject=subject.name))
        self.message_user(request, f"{queryset.count()} subject(s) deleted")

    def save_model(self, request, obj, form, change):
        send(
            commands.SetCompatibility(
                subject=obj.name, mode=obj.compatibility or queries.global_compatibility()
            )
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/register/", view(self.register_view), name="schema_registry_register"),
            path("<int:pk>/compare/", view(self.compare_view), name="schema_registry_compare"),
            *super().get_urls(),
        ]

    def register_view(self, request, pk):
        subject = Subject.objects.get(pk=pk)
        form = RegisterForm(request.POST or None)
        reasons = []
        if request.method == "POST" and form.is_valid():
            result = send(
                commands.RegisterSchema(
                    subject=subject.name, document=form.cleaned_data["document"]
                )
            )
            if result.accepted:
                self.message_user(
                    request,
                    f"Registered {subject.name} version "
                    f"{result.value.version} (id {result.value.id})",
                )
                return self._back(subject)
            reasons = result.details.get("reasons") or [result.message]
            messages.error(request, "Refused: the schema was not registered.")
        context = {
            **self.admin_site.each_context(request),
            "subject": subject,
            "form": form,
            "reasons": reasons,
            "title": f"Register a version of {subject.name}",
            "mode": subject.compatibility or queries.global_compatibility(),
        }
        return TemplateResponse(request, "schema_registry/register.html", context)

    def compare_view(self, request, pk):
        subject = Subject.objects.get(pk=pk)
        versions = list(subject.versions.select_related("schema").order_by("version"))
        numbers = [v.version for v in versions]
        left = int(request.GET.get("left", numbers[-2] if len(numbers) > 1 else numbers[0]))
        right = int(request.GET.get("right", numbers[-1]))
        by_number = {v.version: v for v in versions}
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

    def _back(self, subject):
        from django.shortcuts import redirect

        return redirect("admin:schema_registry_subject_change", subject.pk)


@admin.register(RegistryConfig)
class RegistryConfigAdmin(admin.ModelAdmin):
    list_display = ("compatibility",)

    def save_model(self, request, obj, form, change):
        send(commands.SetCompatibility(subject=None, mode=obj.compatibility))
