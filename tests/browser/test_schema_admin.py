"""Registering an incompatible schema in the admin shows the reasons (a real browser)."""

import json

import pytest
from django.contrib.auth import get_user_model

from schema_registry.models import SchemaVersion, Subject
from tests.browser.conftest import ARTIFACTS
from tests.schema_registry.test_event_validation import SCHEMA_FILE

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)
SUBJECT = "v1.CustomerAddressUpdated"


def test_incompatible_version_is_refused_with_reasons_in_the_admin(live_server, browser):
    get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")
    subject = Subject.objects.get(name=SUBJECT)
    before = SchemaVersion.objects.filter(subject=subject).count()
    breaking = json.loads(SCHEMA_FILE.read_text())
    breaking["required"].append("deliveryNotes")
    breaking["properties"]["deliveryNotes"] = {"type": "string"}

    page = browser.new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/schema_registry/subject/{subject.pk}/change/")
    page.click("text=Register a new version")
    page.fill("#id_document", json.dumps(breaking, indent=2))
    page.click("input[value=Register]")
    reasons = page.locator("#incompatibility-reasons")
    reasons.wait_for()
    text = reasons.inner_text()
    page.screenshot(path=str(ARTIFACTS / "schema-admin-incompatible.png"), full_page=True)

    assert "incompatible" in text and "deliveryNotes" in text and "required-added" in text
    assert SchemaVersion.objects.filter(subject=subject).count() == before


def test_compatible_version_is_registered_and_compared_side_by_side(live_server, browser):
    get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")
    subject = Subject.objects.get(name=SUBJECT)
    evolved = json.loads(SCHEMA_FILE.read_text())
    evolved["properties"]["deliveryNotes"] = {"type": "string"}  # optional: BACKWARD-safe

    page = browser.new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/schema_registry/subject/{subject.pk}/register/")
    page.fill("#id_document", json.dumps(evolved))
    page.click("input[value=Register]")
    message = page.locator("ul.messagelist")
    message.wait_for()
    assert "Registered v1.CustomerAddressUpdated version 2" in message.inner_text()
    page.click("text=Compare versions")
    table = page.locator("table.diff")
    table.wait_for()
    assert "deliveryNotes" in table.inner_text()
    page.screenshot(path=str(ARTIFACTS / "schema-admin-compare.png"), full_page=True)
