"""The Content-Security-Policy headers let the pages work, in a real browser: the admin pages
(with the saga timeline's style sheets and the schema diff's inline styles) and the Swagger UI
page load without a single policy violation.

The Swagger UI page loads its files from this server (drf-spectacular-sidecar's static files),
its start-up script included: a request for any other origin fails the test.
"""

import json

import pytest
from django.contrib.auth import get_user_model

from edn_core.testing import EventBus
from sagas.models import SagaRecord
from schema_registry.models import Subject
from tests.browser.test_saga_admin import login
from tests.sagas.helpers import new_customer, new_product, place
from tests.schema_registry.test_event_validation import SCHEMA_FILE

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)
# Collect every violation the page reports, from its first script on.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${where}`);
});
"""


def violations(page) -> list[str]:
    return page.evaluate("window.__violations")


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.add_init_script(RECORD_VIOLATIONS)
    return page


def test_the_admin_pages_work_under_their_policy(live_server, page, api):
    get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")
    order = place(api, new_customer(api), new_product(api)).json()["id"]
    EventBus().run_until_quiet()
    saga = SagaRecord.objects.get(key=order)
    subject = Subject.objects.get(name="v1.CustomerAddressUpdated")
    evolved = json.loads(SCHEMA_FILE.read_text())
    evolved["properties"]["deliveryNotes"] = {"type": "string"}

    login(page, live_server.url)
    assert violations(page) == []
    page.goto(f"{live_server.url}/admin/sagas/sagarecord/{saga.pk}/change/")
    page.locator("table.saga-timeline").wait_for()
    page.locator("table.saga-timeline summary").first.click()
    pre = page.locator("table.saga-timeline pre").first
    assert pre.evaluate("e => getComputedStyle(e).whiteSpace") == "pre-wrap"  # edn_core/admin.css
    page.goto(f"{live_server.url}/admin/schema_registry/subject/{subject.pk}/register/")
    page.fill("#id_document", json.dumps(evolved))
    page.click("input[value=Register]")
    page.locator("ul.messagelist").wait_for()
    page.click("text=Compare versions")
    page.locator("#schema-diff").wait_for()
    added = page.locator("#schema-diff tr.sr-added td.sr-new").first  # styled by a static file
    assert added.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(230, 255, 236)"
    assert violations(page) == []


def test_the_swagger_ui_page_works_under_its_policy(live_server, page):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server.url}/api/docs/")
    page.locator(".opblock").first.wait_for()  # the operations, from /api/schema/
    assert "Event Driven Django" in page.locator(".info .title").inner_text()
    assert [url for url in requested if not url.startswith(live_server.url)] == []
    files = {url.removeprefix(live_server.url).partition("?")[0] for url in requested}
    sidecar = "/static/drf_spectacular_sidecar/swagger-ui-dist/"
    assert {f"{sidecar}swagger-ui-bundle.js", f"{sidecar}swagger-ui.css", "/api/docs/"} <= files
    assert f"{live_server.url}/api/docs/?script=" in requested  # the start-up script, a file
    assert violations(page) == []
