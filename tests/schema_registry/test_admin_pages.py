"""The registry's admin pages as an operator reads them: each version's schema highlighted, a
register form prefilled with the latest version and checked before anything is saved, a
side-by-side comparison with the compatibility verdict, breadcrumbs with every level."""

import json

import pytest
from django.urls import reverse
from django.utils.html import escape

from edn_core.cqrs import send
from schema_registry import commands
from schema_registry.admin_display import highlighted_lines, pretty, side_by_side
from schema_registry.models import SchemaVersion, Subject
from tests.support.staff import staff_client

pytestmark = pytest.mark.django_db(databases="__all__")
SUBJECT = "v1.Admin.Pages"
V1 = {"type": "object", "properties": {"name": {"type": "string"}}}
V2 = {"type": "object", "properties": {"name": {"type": "string"}, "note": {"type": "string"}}}
V3 = {**V2, "required": ["note"]}  # BACKWARD-incompatible with V2
KEEPER = (
    "schema_registry.view_subject",
    "schema_registry.view_schemaversion",
    "schema_registry.add_schemaversion",
)


@pytest.fixture
def subject() -> Subject:
    send(commands.RegisterSchema(subject=SUBJECT, document=V1)).value_or_raise()
    return Subject.objects.get(name=SUBJECT)


@pytest.fixture
def keeper():
    return staff_client(*KEEPER)


def page(client, name: str, subject: Subject, **query) -> str:
    response = client.get(reverse(f"admin:schema_registry_{name}", args=[subject.pk]), query)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def check(client, subject: Subject, document, button: str = "_check"):
    url = reverse("admin:schema_registry_register", args=[subject.pk])
    text = document if isinstance(document, str) else json.dumps(document)
    return client.post(url, {"document": text, button: "x"})


def test_the_subject_page_shows_every_version_highlighted_the_latest_open(subject, keeper):
    send(commands.RegisterSchema(subject=SUBJECT, document=V2)).value_or_raise()
    body = page(keeper, "subject_change", subject)
    assert 'id="schema-versions"' in body and "version 2 is the latest" in body
    assert '<details class="sr-version" id="version-2" open>' in body
    assert '<details class="sr-version" id="version-1">' in body
    assert '<span class="nt">"note"</span>' in body  # a key, highlighted
    assert "?left=1&amp;right=2" in body  # version 2 offers its comparison with version 1
    assert "schema_registry/admin.css" in body
    assert '<ul class="object-tools">' in body and "Register a new version" in body


def test_documents_are_not_shown_without_view_schemaversion(subject):
    body = page(staff_client("schema_registry.view_subject"), "subject_change", subject)
    assert "schema-versions" not in body and '"name"' not in body


def test_subjects_are_not_added_by_hand(subject, keeper):
    add = reverse("admin:schema_registry_subject_add")
    listing = keeper.get(reverse("admin:schema_registry_subject_changelist"))
    assert listing.status_code == 200 and add not in listing.content.decode()
    assert keeper.get(add).status_code == 403


def test_the_register_form_starts_as_the_latest_version(subject, keeper):
    send(commands.RegisterSchema(subject=SUBJECT, document=V2)).value_or_raise()
    body = page(keeper, "register", subject)
    assert escape(pretty(V2)) in body
    assert 'value="Check"' in body and 'value="Register"' in body
    crumbs = body[body.index('class="breadcrumbs"') :].split("</div>")[0]
    for level in ("Home", "Schema registry", "Subjects", SUBJECT, "Register a new version"):
        assert level in crumbs


def test_check_shows_a_compatible_verdict_and_the_changes_and_registers_nothing(subject, keeper):
    response = check(keeper, subject, V2)
    body = response.content.decode()
    assert response.status_code == 200 and 'id="check-verdict"' in body
    assert "Compatible under BACKWARD" in body and "Register version 2" in body
    assert 'class="sr-added"' in body and "+3" in body  # the "note" property: three lines
    assert SchemaVersion.objects.filter(subject=subject).count() == 1


def test_check_lists_the_reasons_of_an_incompatible_document_and_registers_nothing(subject, keeper):
    send(commands.RegisterSchema(subject=SUBJECT, document=V2)).value_or_raise()
    body = check(keeper, subject, V3).content.decode()
    assert "Incompatible under BACKWARD" in body and "required-added" in body
    assert "Register version" not in body
    assert SchemaVersion.objects.filter(subject=subject).count() == 2


def test_checking_needs_add_schemaversion_as_registering_does(subject):
    reader = staff_client("schema_registry.view_subject", "schema_registry.view_schemaversion")
    assert check(reader, subject, V2).status_code == 403


def test_check_of_a_registered_document_says_which_version_it_is(subject, keeper):
    body = check(keeper, subject, V1).content.decode()
    assert "Identical to version 1: registering it adds no version." in body
    assert "Register version" not in body


@pytest.mark.parametrize(
    ("text", "error"),
    [("{not json", "not JSON"), ('{"type": "banana"}', "Invalid JSON Schema"), ("[]", "object")],
)
def test_check_and_register_refuse_what_is_not_a_schema_as_a_form_error(
    subject, keeper, text, error
):
    for button in ("_check", "_register"):
        response = check(keeper, subject, text, button)
        assert response.status_code == 200 and error in response.content.decode()
    assert SchemaVersion.objects.filter(subject=subject).count() == 1


def test_register_after_check_adds_the_version(subject, keeper):
    assert check(keeper, subject, V2, "_register").status_code == 302
    assert SchemaVersion.objects.filter(subject=subject).count() == 2


def test_compare_defaults_to_the_latest_against_the_one_before_with_the_verdict(subject, keeper):
    send(commands.SetCompatibility(subject=SUBJECT, mode="NONE")).value_or_raise()
    for document in (V2, V3):
        send(commands.RegisterSchema(subject=SUBJECT, document=document)).value_or_raise()
    send(commands.SetCompatibility(subject=SUBJECT, mode="FULL")).value_or_raise()
    body = page(keeper, "compare", subject)
    assert '<option value="2" selected>' in body and '<option value="3" selected>' in body
    assert "Version 3 is incompatible with version 2 under FULL" in body
    assert "BACKWARD vs version 2: /required [required-added]" in body  # its own number
    crumbs = body[body.index('class="breadcrumbs"') :].split("</div>")[0]
    for level in ("Home", "Schema registry", "Subjects", SUBJECT, "Compare versions"):
        assert level in crumbs
    reverse_order = page(keeper, "compare", subject, left=2, right=1)
    assert "Version 2 is compatible with version 1 under FULL" in reverse_order


def test_compare_of_a_single_version_says_there_is_nothing_to_compare(subject, keeper):
    body = page(keeper, "compare", subject)
    assert "Version 1 on both sides" in body and "compatibility-verdict" not in body


def test_a_blank_mode_saved_in_the_admin_follows_the_global_mode():
    send(commands.RegisterSchema(subject=SUBJECT, document=V1)).value_or_raise()
    subject = Subject.objects.get(name=SUBJECT)
    url = reverse("admin:schema_registry_subject_change", args=[subject.pk])
    client = staff_client("schema_registry.change_subject")
    assert client.post(url, {"compatibility": ""}).status_code == 302
    assert Subject.objects.get(pk=subject.pk).compatibility == ""


def test_the_diff_aligns_both_documents_and_folds_far_unchanged_lines():
    old = {"a": list(range(20)), "b": 1}
    new = {"a": list(range(20)), "b": 2, "c": 3}
    whole = side_by_side(old, new)
    assert (whole.added, whole.removed) == (2, 1) and len(whole.rows) == 26
    changed = [(r.kind, r.left.number, r.right.number) for r in whole.rows if r.kind != "same"]
    assert changed == [("changed", 24, 24), ("added", None, 25)]
    folded = side_by_side(old, new, context=2)
    assert [r.folded for r in folded.rows if r.kind == "fold"] == [21]
    assert len(folded.rows) == 1 + 2 + 2 + 1  # the fold, two before, the change, one after


def test_highlighting_escapes_what_the_document_holds():
    lines = highlighted_lines(pretty({"description": "<script>alert(1)</script>"}))
    assert "<script>" not in "".join(lines) and "&lt;script&gt;" in "".join(lines)
    assert len(lines) == 3
