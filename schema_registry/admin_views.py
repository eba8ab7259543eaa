"""The subject's own admin pages: register a new version (checked first), compare two versions.

Permissions are those :mod:`schema_registry.admin` lists; ``SubjectPages`` is mixed into its
``SubjectAdmin``, which supplies ``may`` and Django's ``get_object``.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from edn_core.cqrs import Outcome, send
from edn_core.domain import NotFound
from schema_registry import commands, domain, queries
from schema_registry.admin_display import (
    Verdict,
    highlighted,
    meaning,
    pair_verdict,
    pretty,
    side_by_side,
)
from schema_registry.limits import schema_limits
from schema_registry.models import Subject

CHECK = "_check"  # the name of the Check button; any other POST registers


class RegisterForm(forms.Form):
    document = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 24, "class": "sr-editor", "spellcheck": "false"}),
        label="JSON Schema (draft 2020-12)",
    )

    def clean_document(self):
        try:
            return domain.parse(self.cleaned_data["document"], schema_limits())
        except domain.InvalidSchema as error:
            raise forms.ValidationError(error.message) from None


def mode_of(subject: Subject) -> str:
    return subject.compatibility or queries.global_compatibility()


def _version_number(request, name: str, default: int, known: dict) -> int:
    raw = request.GET.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or int(raw) not in known:
        raise BadRequest(f"{name}: no version {raw!r}")
    return int(raw)


def _check(subject: Subject, document: dict, next_number: int) -> Verdict:
    """What registering ``document`` would do, without registering it."""
    try:
        same = queries.lookup(subject.name, document)
    except NotFound:
        reasons = queries.check_compatibility(subject.name, document)
    else:
        summary = f"Identical to version {same.version}: registering it adds no version."
        return Verdict(True, [], summary)
    mode = mode_of(subject)
    if reasons:
        return Verdict(False, reasons, f"Incompatible under {mode}: registering it is refused.")
    summary = f"Compatible under {mode} ({meaning(mode)}): Register adds version {next_number}."
    return Verdict(True, [], summary, adds=next_number)


class SubjectPages:
    def subject_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/register/", view(self.register_view), name="schema_registry_register"),
            path("<int:pk>/compare/", view(self.compare_view), name="schema_registry_compare"),
        ]

    def _subject(self, request, pk: int, action: str) -> Subject:
        if not self.may(request, action):
            raise PermissionDenied
        subject = self.get_object(request, str(pk))
        if subject is None:
            raise Http404(f"No subject {pk}.")
        return subject

    def _page(self, request, template: str, subject: Subject, title: str, **context):
        context = {
            **self.admin_site.each_context(request),
            "opts": Subject._meta,
            "subject": subject,
            "title": title,
            "mode": mode_of(subject),
            "mode_meaning": meaning(mode_of(subject)),
            **context,
        }
        return TemplateResponse(request, f"schema_registry/{template}", context)

    def versions_context(self, subject: Subject) -> dict:
        """The subject page's versions, newest first, each document highlighted."""
        rows = list(subject.versions.select_related("schema").order_by("-version"))
        latest = next((v for v in rows if not v.deleted), rows[0] if rows else None)
        previous = [v.version for v in rows[1:]] + [None]
        shown = [
            {"row": v, "html": highlighted(v.schema.document), "previous": number}
            for v, number in zip(rows, previous, strict=True)
        ]
        return {"versions": shown, "latest": latest}

    def register_view(self, request, pk):
        subject = self._subject(request, pk, "add")
        rows = subject.versions.select_related("schema").order_by("-version")
        latest = rows.filter(deleted=False).first() or rows.first()
        initial = {"document": pretty(latest.schema.document)} if latest else {}
        form = RegisterForm(request.POST or None, initial=initial)
        verdict, diff, reasons, incompatible = None, None, [], False
        if request.method == "POST" and form.is_valid():
            document = form.cleaned_data["document"]
            diff = side_by_side(latest.schema.document, document, context=3) if latest else None
            if CHECK in request.POST:
                next_number = (rows.first().version if latest else 0) + 1
                verdict = _check(subject, document, next_number)
            else:
                result = send(commands.RegisterSchema(subject=subject.name, document=document))
                if result.accepted:
                    registered = f"version {result.value.version} (id {result.value.id})"
                    self.message_user(request, f"Registered {subject.name} {registered}")
                    return redirect("admin:schema_registry_subject_change", subject.pk)
                reasons = result.details.get("reasons") or [result.message]
                incompatible = result.outcome == Outcome.CONFLICT
                messages.error(request, "Refused: the schema was not registered.")
        title = f"Register a new version of {subject.name}"
        return self._page(
            request,
            "register.html",
            subject,
            title,
            form=form,
            latest=latest,
            left_label=f"version {latest.version} (latest)" if latest else "",
            right_label="this document",
            verdict=verdict,
            diff=diff,
            reasons=reasons,
            incompatible=incompatible,
            check=CHECK,
        )

    def compare_view(self, request, pk):
        subject = self._subject(request, pk, "view")
        rows = subject.versions.select_related("schema").order_by("version")
        by_number = {v.version: v for v in rows}
        if not by_number:
            raise Http404(f"{subject.name} has no versions.")
        live = [n for n, v in by_number.items() if not v.deleted]
        pair = (live if len(live) >= 2 else list(by_number))[-2:]
        left = _version_number(request, "left", pair[0], by_number)
        right = _version_number(request, "right", pair[-1], by_number)
        older, newer = sorted((left, right))
        verdict = None
        if older != newer:
            documents = {n: by_number[n].schema.document for n in (older, newer)}
            verdict = pair_verdict(
                mode_of(subject), (older, documents[older]), (newer, documents[newer])
            )
        return self._page(
            request,
            "compare.html",
            subject,
            f"Compare versions of {subject.name}",
            versions=list(by_number.values()),
            left=left,
            right=right,
            left_label=f"version {left}",
            right_label=f"version {right}",
            verdict=verdict,
            diff=side_by_side(by_number[left].schema.document, by_number[right].schema.document),
        )
