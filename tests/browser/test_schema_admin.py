"""The registry's admin pages in a real browser at 1400 px: the schema highlighted, a register
form prefilled with the latest version and checked before saving, a side-by-side comparison
with the verdict, breadcrumbs with every level, and nothing wider than the window. Each page
reviewed is kept as a screenshot (``ARTIFACTS``)."""

import json

import pytest
from django.contrib.auth import get_user_model

from edn_core.cqrs import send
from schema_registry import commands
from schema_registry.models import SchemaVersion, Subject
from tests.browser.conftest import ARTIFACTS
from tests.schema_registry.test_event_validation import SCHEMA_FILE

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)
SUBJECT = "v1.CustomerAddressUpdated"
WIDTH = 1400
CRUMB = "\N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK}"  # between breadcrumbs
# Elements whose content is wider than their box and clipped or scrolled: something cut off.
CLIPPED = """() => [...document.querySelectorAll('#content *')]
  .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible')
  .map(e => e.tagName + '.' + e.className)"""


def review(page, name: str, crumbs: list[str]) -> None:
    """Keep a screenshot of the page; nothing is cut off at 1400 px; the breadcrumbs hold
    every level."""
    page.screenshot(path=str(ARTIFACTS / f"schema-admin-{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, name
    assert page.evaluate(CLIPPED) == [], name
    levels = page.locator("div.breadcrumbs a").all_inner_texts()
    here = page.locator("div.breadcrumbs").inner_text().split(CRUMB)[-1].strip()
    assert [*levels, here] == crumbs, name


@pytest.fixture
def admin_page(live_server, browser):
    get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")
    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    return page


def test_a_version_is_checked_before_it_is_registered(live_server, admin_page):
    page, subject = admin_page, Subject.objects.get(name=SUBJECT)
    crumbs = ["Home", "Schema registry", "Subjects", SUBJECT, "Register a new version"]
    page.goto(f"{live_server.url}/admin/schema_registry/subject/{subject.pk}/change/")
    page.click("ul.object-tools >> text=Register a new version")
    latest = json.loads(page.input_value("#id_document"))
    assert latest == json.loads(SCHEMA_FILE.read_text())  # prefilled with the latest version
    review(page, "register", crumbs)

    breaking = {**latest, "required": [*latest["required"], "deliveryNotes"]}
    breaking["properties"] = {**latest["properties"], "deliveryNotes": {"type": "string"}}
    page.fill("#id_document", json.dumps(breaking, indent=2))
    page.click("input[value=Check]")
    verdict = page.locator("#check-verdict")
    assert "Incompatible under BACKWARD" in verdict.inner_text()
    assert "required-added" in verdict.inner_text() and "deliveryNotes" in verdict.inner_text()
    assert page.locator("#register-checked").count() == 0
    review(page, "register-check-incompatible", crumbs)
    page.click("input[value=Register]")  # registering it anyway is refused with the reasons
    assert "required-added" in page.locator("#incompatibility-reasons").inner_text()
    review(page, "register-refused", crumbs)
    assert SchemaVersion.objects.filter(subject=subject).count() == 1

    del breaking["required"][-1]  # optional now: BACKWARD-safe
    page.fill("#id_document", json.dumps(breaking, indent=2))
    page.click("input[value=Check]")
    assert "Compatible under BACKWARD" in page.locator("#check-verdict").inner_text()
    added = page.locator("#schema-diff tr.sr-added td.sr-new").all_inner_texts()
    assert any("deliveryNotes" in line for line in added)
    review(page, "register-check-compatible", crumbs)
    assert SchemaVersion.objects.filter(subject=subject).count() == 1  # checking saved nothing
    page.click("#register-checked")
    message = page.locator("ul.messagelist").inner_text()
    assert "Registered v1.CustomerAddressUpdated version 2" in message
    assert SchemaVersion.objects.filter(subject=subject).count() == 2


def test_the_schema_and_a_side_by_side_comparison_with_the_verdict(live_server, admin_page):
    page = admin_page
    evolved = json.loads(SCHEMA_FILE.read_text())
    evolved["properties"]["deliveryNotes"] = {"type": "string", "description": "x" * 300}
    evolved["required"].append("deliveryNotes")
    send(commands.SetCompatibility(subject=SUBJECT, mode="NONE")).value_or_raise()
    send(commands.RegisterSchema(subject=SUBJECT, document=evolved)).value_or_raise()
    send(commands.SetCompatibility(subject=SUBJECT, mode="BACKWARD")).value_or_raise()

    page.goto(f"{live_server.url}/admin/schema_registry/subject/")
    review(page, "subjects", ["Home", "Schema registry", "Subjects"])
    page.click(f"text={SUBJECT}")
    latest = page.locator("#version-2 pre.sr-code")
    assert "deliveryNotes" in latest.inner_text()  # the latest version, open
    assert not page.locator("#version-1 pre.sr-code").is_visible()  # older ones folded
    colour = "e => getComputedStyle(e).color"
    key, text = latest.locator(".nt").first, latest.locator(".s2").first
    assert key.evaluate(colour) != text.evaluate(colour)  # highlighted: the CSS file loaded
    tools = page.locator("ul.object-tools").inner_text().lower()
    assert "register a new version" in tools and "compare versions" in tools
    review(page, "subject", ["Home", "Schema registry", "Subjects", SUBJECT])

    page.click("ul.object-tools >> text=Compare versions")
    assert page.locator("select[name=left]").input_value() == "1"
    assert page.locator("select[name=right]").input_value() == "2"
    verdict = page.locator("#compatibility-verdict").inner_text()
    assert "Version 2 is incompatible with version 1 under BACKWARD" in verdict
    assert "required-added" in verdict
    row = page.locator("#schema-diff tr.sr-changed").first
    old, new = (row.locator(f"td.sr-code.sr-{side}").bounding_box() for side in ("old", "new"))
    assert old["y"] == new["y"] and old["x"] + old["width"] <= new["x"]  # side by side
    review(page, "compare", ["Home", "Schema registry", "Subjects", SUBJECT, "Compare versions"])
