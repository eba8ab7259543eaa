"""The admin's frame and the bus tables in a real browser at 1400 px: the admin is named after
the platform and its services, "View site" opens the API documentation, an outbox message
shows its envelope once and when it was sent, and the dead letter ``edn_dead_letter`` makes
is listed and shown under that one name. Each page reviewed is kept as a screenshot."""

import io
import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from edn_core.testing import EventBus
from orders.models import FailedDelivery, OutboxMessage
from tests.browser.test_saga_admin import WIDTH, login, review
from tests.sagas.helpers import new_customer, new_product, place

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)
SENT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(after \d+(\.\d+)? (ms|s)\)$")


def test_the_admin_frame_the_outbox_and_a_dead_letter(live_server, browser, api, settings):
    get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")
    place(api, new_customer(api), new_product(api))
    EventBus().run_until_quiet()
    settings.DEBUG = True  # the command makes dead letters in development only
    call_command("edn_dead_letter", app="orders", stdout=io.StringIO())
    settings.DEBUG = False
    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    login(page, live_server.url)

    # -- the frame: branded, "View site" leads to the API docs, one name for dead letters
    assert page.title().endswith("Event Driven Django")
    header = page.locator("#site-name").inner_text()
    assert header == f"Event Driven Django · {', '.join(settings.EDN_SERVICES)}"
    orders = page.locator("#content-main .app-orders")
    assert "Dead letters" in orders.locator("th[scope=row]").all_inner_texts()
    assert "failed deliver" not in page.locator("body").inner_text().lower()
    view_site = page.locator("#user-tools a", has_text=re.compile("view site", re.I))
    assert view_site.get_attribute("href") == "/api/docs/"
    review(page, "index", prefix="admin")
    with page.expect_navigation():
        view_site.click()
    page.locator(".opblock").first.wait_for()  # Swagger UI, with the API's operations
    page.go_back()

    # -- an outbox message: its envelope once, when it was sent in full ------------------
    sent = OutboxMessage.objects.exclude(sent_at=None).order_by("id").first()
    page.goto(f"{live_server.url}/admin/orders/outboxmessage/")
    row = page.locator("#result_list tbody tr", has_text=sent.topic).first
    assert re.fullmatch(r"after \d+(\.\d+)? (ms|s)", row.locator("td.field-sent").inner_text())
    review(page, "outbox", prefix="admin")
    page.goto(f"{live_server.url}/admin/orders/outboxmessage/{sent.pk}/change/")
    assert page.locator(".field-envelope").count() == 0  # not the raw text beside it
    (envelope,) = page.locator("pre").all()
    assert json.loads(envelope.inner_text()) == json.loads(sent.envelope)
    assert SENT.match(page.locator(".fieldBox.field-sent_at_local .readonly").inner_text())
    review(page, "outbox-message", prefix="admin")

    # -- the dead letter: listed with its error, shown with its envelope once -------------
    dead = FailedDelivery.objects.get(status="dead")
    page.goto(f"{live_server.url}/admin/orders/faileddelivery/")
    assert page.locator("#content h1").inner_text() == "Select dead letter to view"
    assert page.locator("div.breadcrumbs").inner_text().endswith("Dead letters")
    row = page.locator("#result_list tbody tr")
    assert row.count() == 1
    assert row.locator("td.field-status_line .edn-badge.edn-bad").inner_text() == "dead letter"
    error = row.locator("td.field-short_error").inner_text()
    assert "does not match its registered schema" in error
    review(page, "dead-letters", prefix="admin")
    row.locator("th a").click()
    page.wait_for_url(re.compile(rf"/faileddelivery/{dead.pk}/change/"))
    assert page.locator(".field-envelope").count() == 0
    assert json.loads(page.locator(".field-pretty_envelope pre").inner_text()) == json.loads(
        dead.envelope
    )
    review(page, "dead-letter", prefix="admin")
