"""The registry's admin checks the model permission of what each page and action does: a staff
user without it gets 403 (or is not offered the action) and nothing changes."""

import json

import pytest
from django.urls import reverse

from edn_core.cqrs import send
from schema_registry import commands
from schema_registry.models import RegistryConfig, SchemaVersion, Subject
from tests.support.staff import action, offers, staff_client

pytestmark = pytest.mark.django_db(databases="__all__")
SUBJECT = "v1.Admin.Thing"
V1 = {"type": "object", "properties": {"name": {"type": "string"}}}
V2 = {"type": "object", "properties": {"name": {"type": "string"}, "note": {"type": "string"}}}
CHANGELIST = "/admin/schema_registry/subject/"
VIEW = "schema_registry.view_subject"
VERSIONS = "schema_registry.view_schemaversion"
ADD_VERSION = "schema_registry.add_schemaversion"


@pytest.fixture
def subject() -> Subject:
    send(commands.RegisterSchema(subject=SUBJECT, document=V1)).value_or_raise()
    return Subject.objects.get(name=SUBJECT)


def versions(subject) -> int:
    return SchemaVersion.objects.filter(subject=subject).count()


def register(client, subject, document=V2):
    url = reverse("admin:schema_registry_register", args=[subject.pk])
    return client.get(url), client.post(url, {"document": json.dumps(document)})


@pytest.mark.parametrize("permissions", [(), (VIEW,), (VIEW, VERSIONS), (ADD_VERSION,)], ids=str)
def test_registering_without_add_schemaversion_is_403_and_registers_nothing(subject, permissions):
    page, posted = register(staff_client(*permissions), subject)
    assert (page.status_code, posted.status_code) == (403, 403)
    assert versions(subject) == 1


def test_registering_with_add_schemaversion_adds_the_version(subject):
    page, posted = register(staff_client(VIEW, ADD_VERSION), subject)
    assert page.status_code == 200 and posted.status_code == 302
    assert versions(subject) == 2


@pytest.mark.parametrize("permissions", [(), (VIEW,), (VERSIONS,)], ids=str)
def test_comparing_without_view_schemaversion_is_403(subject, permissions):
    url = reverse("admin:schema_registry_compare", args=[subject.pk])
    assert staff_client(*permissions).get(url).status_code == 403


def test_comparing_with_view_schemaversion_shows_the_diff_and_bad_versions_are_400(subject):
    send(commands.RegisterSchema(subject=SUBJECT, document=V2)).value_or_raise()
    client = staff_client(VIEW, VERSIONS)
    url = reverse("admin:schema_registry_compare", args=[subject.pk])
    page = client.get(url)
    assert page.status_code == 200 and "note" in page.content.decode()
    assert client.get(url, {"left": "9"}).status_code == 400
    assert client.get(url, {"right": "x"}).status_code == 400


def test_the_subject_page_links_only_the_pages_the_user_may_open(subject):
    url = reverse("admin:schema_registry_subject_change", args=[subject.pk])
    looker = staff_client(VIEW).get(url)
    assert looker.status_code == 200
    assert "Register a new version" not in looker.content.decode()
    assert "Compare versions" not in looker.content.decode()
    keeper = staff_client(VIEW, VERSIONS, ADD_VERSION).get(url).content.decode()
    assert "Register a new version" in keeper and "Compare versions" in keeper


def test_setting_a_subjects_mode_needs_change_subject(subject):
    url = reverse("admin:schema_registry_subject_change", args=[subject.pk])
    body = {"compatibility": "FULL", "versions-TOTAL_FORMS": "0", "versions-INITIAL_FORMS": "1"}
    for permissions in [(), (VIEW,)]:
        assert staff_client(*permissions).post(url, body).status_code == 403
    assert Subject.objects.get(pk=subject.pk).compatibility == ""
    changed = staff_client("schema_registry.change_subject").post(url, body)
    assert changed.status_code == 302, changed.content
    assert Subject.objects.get(pk=subject.pk).compatibility == "FULL"


def test_setting_the_global_mode_needs_change_registryconfig():
    send(commands.SetCompatibility(subject=None, mode="BACKWARD")).value_or_raise()
    url = reverse("admin:schema_registry_registryconfig_change", args=[1])
    for permissions in [(), ("schema_registry.view_registryconfig",)]:
        assert staff_client(*permissions).post(url, {"compatibility": "NONE"}).status_code == 403
    assert RegistryConfig.objects.get(pk=1).compatibility == "BACKWARD"
    changer = staff_client("schema_registry.change_registryconfig")
    assert changer.post(url, {"compatibility": "NONE"}).status_code == 302
    assert RegistryConfig.objects.get(pk=1).compatibility == "NONE"


@pytest.mark.parametrize(
    "permissions", [(), (VIEW,), (VIEW, "schema_registry.change_subject")], ids=str
)
def test_soft_deleting_without_delete_subject_is_not_offered_nor_run(subject, permissions):
    client = staff_client(*permissions)
    assert not offers(client, CHANGELIST, "soft_delete")
    action(client, CHANGELIST, "soft_delete", subject.pk)
    assert not Subject.objects.get(pk=subject.pk).deleted


def test_soft_deleting_with_delete_subject_deletes(subject):
    client = staff_client(VIEW, "schema_registry.delete_subject")
    assert offers(client, CHANGELIST, "soft_delete")
    action(client, CHANGELIST, "soft_delete", subject.pk)
    assert Subject.objects.get(pk=subject.pk).deleted


def test_subjects_are_never_hard_deleted_from_the_admin_even_with_delete_subject(subject):
    client = staff_client(VIEW, "schema_registry.delete_subject", name="deleter")
    assert not offers(client, CHANGELIST, "delete_selected")
    assert offers(client, CHANGELIST, "soft_delete")
    url = reverse("admin:schema_registry_subject_delete", args=[subject.pk])
    assert (
        client.get(url).status_code == 403 and client.post(url, {"post": "yes"}).status_code == 403
    )
    page = client.get(reverse("admin:schema_registry_subject_change", args=[subject.pk]))
    assert url not in page.content.decode()
    assert Subject.objects.filter(pk=subject.pk).exists() and versions(subject) == 1
