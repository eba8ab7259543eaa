"""Saga state in the Django admin, in a real browser: the list filtered by state, the step
timeline of a compensated saga, and cancelling a stuck saga from the list."""

import json
import re
from datetime import datetime

import pytest
from django.contrib.auth import get_user_model

from edn_core.bus.subscriptions import by_consumer, subscribe, subscriptions_for, unsubscribe
from edn_core.testing import EventBus
from sagas.models import SagaRecord
from tests.browser.conftest import ARTIFACTS
from tests.sagas.helpers import credit_available, new_customer, new_product, place, saga_of, stock

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)
CHANGELIST = "/admin/sagas/sagarecord/"
SCREENSHOT = ARTIFACTS / "saga-admin-timeline.png"
DURATION = re.compile(r"^\d+(\.\d)? ms$")


@pytest.fixture
def silence_inventory():
    """Call it to unsubscribe inventory's reserve handler (the saga then waits on that step);
    call what it returns to subscribe the handler again. Restored at teardown in any case."""
    (sub,) = subscriptions_for("v1.InventoryReserveRequested")
    silenced = []

    def restore():
        if silenced:
            subscribe(sub.topic, latest_wins=sub.latest_wins, app=sub.app_label, batch=sub.batch)(
                sub.handler
            )
            silenced.clear()
        assert by_consumer(sub.consumer) is not None

    def silence():
        unsubscribe(sub.consumer)
        silenced.append(sub)
        return restore

    yield silence
    restore()


def login(page, base_url: str) -> None:
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.locator("#user-tools").wait_for()


def listed_keys(page) -> set[str]:
    """The ``key`` column (the order id) of every row in the change list."""
    return set(page.locator("#result_list tbody td.field-key").all_inner_texts())


def right_edge(locator) -> float:
    box = locator.bounding_box()
    return box["x"] + box["width"]


def filter_by_state(page, state: str) -> None:
    """Click the state in the sidebar's "By state" filter (not by typing a URL)."""
    section = page.locator("#changelist-filter details[data-filter-title='state']")
    section.locator("a", has_text=re.compile(f"^{state}$")).click()
    page.wait_for_url(re.compile(rf"state__exact={state}"))


def test_saga_list_timeline_and_cancelling_a_stuck_saga(
    live_server, browser, api, silence_inventory
):
    get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")
    bus = EventBus()
    customer = new_customer(api, "100.00")
    plenty, scarce, other = new_product(api, 9), new_product(api, 2), new_product(api, 9)

    executed_order = place(api, customer, plenty, price="7.50", quantity=3).json()["id"]
    rejected_order = place(api, customer, scarce, price="7.50", quantity=3).json()["id"]
    bus.run_until_quiet()
    restore_inventory = silence_inventory()
    stuck_order = place(api, customer, other, price="7.50", quantity=3).json()["id"]
    bus.run_until_quiet()

    executed, rejected, stuck = (
        saga_of(api, o) for o in (executed_order, rejected_order, stuck_order)
    )
    assert executed["state"] == "Executed"
    assert rejected["state"] == "Compensated"
    assert (stuck["state"], stuck["currentStep"]) == ("Executing", "ReserveProductInventory")

    # The timeline table is ~1100-1270 px wide beside the admin's nav sidebar, inside a
    # form row with ``overflow: hidden``: at 1280 px its messages column is cut off, so the
    # browser window is a full-HD one (the payload check below asserts it is not clipped).
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    login(page, live_server.url)

    # -- the list, filtered by state in the sidebar -------------------------------------
    page.goto(f"{live_server.url}{CHANGELIST}")
    assert "Select saga to view" in page.locator("#content h1").inner_text()
    assert listed_keys(page) == {executed_order, rejected_order, stuck_order}
    for state, order_id, saga in (
        ("Executed", executed_order, executed),
        ("Compensated", rejected_order, rejected),
        ("Executing", stuck_order, stuck),
    ):
        page.goto(f"{live_server.url}{CHANGELIST}")
        filter_by_state(page, state)
        assert listed_keys(page) == {order_id}, state
        row = page.locator("#result_list tbody tr")
        assert row.locator("td.field-state").inner_text() == state
        assert row.locator("th.field-id, td.field-id").inner_text() == saga["id"]
        assert row.locator("td.field-saga_type").inner_text() == "CreateOrder"
        assert row.locator("td.field-current_step_name").inner_text() == saga["currentStep"]
    assert "1 saga" in page.locator("#changelist-form .paginator").inner_text()

    # -- the compensated saga's detail page: the step timeline --------------------------
    page.goto(f"{live_server.url}{CHANGELIST}")
    filter_by_state(page, "Compensated")
    page.locator("#result_list tbody tr a", has_text=rejected["id"]).click()
    page.wait_for_url(re.compile(rf"/{rejected['id']}/change/"))
    assert rejected_order in page.locator(".field-key .readonly").inner_text()
    assert page.locator(".field-state .readonly").inner_text() == "Compensated"
    assert "ReserveProductInventory" in page.locator(".field-reason .readonly").inner_text()

    timeline = page.locator("table.saga-timeline")
    timeline.wait_for()
    headers = timeline.locator("th").all_inner_texts()
    assert headers == ["step", "phase", "state", "started", "ended", "duration", "messages"]
    rows = timeline.locator("tr.saga-phase")
    shown = [
        (cells[0], cells[1], cells[2])
        for cells in (rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count()))
    ]
    # every phase that ran, in step order; the refused reservation held nothing to undo and
    # the last step never started
    assert shown == [
        ("CreateOrder", "action", "Succeeded"),
        ("CreateOrder", "compensation", "Succeeded"),
        ("ReserveCustomerCredit", "action", "Succeeded"),
        ("ReserveCustomerCredit", "compensation", "Succeeded"),
        ("ReserveProductInventory", "action", "Failed"),
    ]
    assert "SetOrderStateCreated" not in timeline.inner_text()
    assert rows.nth(4).get_attribute("class") == "saga-phase saga-failed"
    assert timeline.locator("tr.saga-phase.saga-succeeded").count() == 4

    stored = {s["name"]: s for s in rejected["steps"]}
    for i, (step, kind, _) in enumerate(shown):
        cells = rows.nth(i).locator("td").all_inner_texts()
        started, ended, duration = cells[3], cells[4], cells[5]
        assert started == stored[step][kind]["startedAt"], (step, kind)
        assert ended == stored[step][kind]["endedAt"], (step, kind)
        assert datetime.fromisoformat(started) <= datetime.fromisoformat(ended)
        assert DURATION.match(duration), (step, kind, duration)
        expected_ms = stored[step][kind]["durationMs"]
        assert abs(float(duration.removesuffix(" ms")) - expected_ms) <= 0.05, (step, duration)

    # the credit reservation: its request and the reply, each payload folded in <details>
    credit_row = rows.nth(2)
    summaries = credit_row.locator("details > summary").all_inner_texts()
    assert summaries == [
        "sent v1.CustomerCreditReserveRequested",
        "received v1.CustomerCreditReserved",
    ]
    sent = credit_row.locator("details").first
    payload = sent.locator("pre")
    assert sent.get_attribute("open") is None and not payload.is_visible()
    assert right_edge(sent.locator("summary")) <= right_edge(page.locator(".field-timeline"))
    sent.locator("summary").click()
    payload.wait_for(state="visible")
    shown_payload = json.loads(payload.inner_text())
    assert shown_payload == stored["ReserveCustomerCredit"]["action"]["sent"][0]["data"]
    assert shown_payload["customerId"] == customer["id"]
    assert shown_payload["reservation"] == rejected["key"]  # reserved under the order id
    refused = rows.nth(4).locator("details > summary").all_inner_texts()
    assert refused == ["sent v1.InventoryReserveRequested", "received v1.InventoryReserveFailed"]

    SCREENSHOT.unlink(missing_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.is_file() and SCREENSHOT.stat().st_size > 0

    # -- cancelling the stuck saga from the list ----------------------------------------
    page.goto(f"{live_server.url}{CHANGELIST}")
    page.check(f"input.action-select[value='{stuck['id']}']")
    page.select_option("select[name=action]", label="Cancel (stuck saga: compensate)")
    page.click("button[name=index]")
    message = page.locator("ul.messagelist li.success")
    message.wait_for()
    assert message.inner_text() == f"Saga {stuck['id']}: done"  # capfirst in admin/base.html
    assert page.locator("ul.messagelist li.error").count() == 0

    filter_by_state(page, "Compensating")
    assert listed_keys(page) == {stuck_order}
    assert SagaRecord.objects.get(pk=stuck["id"]).state == "Compensating"
    page.goto(f"{live_server.url}{CHANGELIST}?state__exact=Executing")
    assert listed_keys(page) == set()
    page.goto(f"{live_server.url}{CHANGELIST}{stuck['id']}/change/")
    assert page.locator(".field-state .readonly").inner_text() == "Compensating"
    assert "cancelled in admin by admin" in page.locator(".field-reason .readonly").inner_text()
    waiting = page.locator("table.saga-timeline tr.saga-phase")
    assert [waiting.nth(i).locator("td").nth(2).inner_text() for i in range(waiting.count())] == [
        "Succeeded",  # CreateOrder
        "Succeeded",  # ReserveCustomerCredit
        "Failed",  # ReserveProductInventory: cancelled while waiting
        "Executing",  # ... and compensated, since it may have reserved before its reply
    ]

    restore_inventory()
    bus.run_until_quiet()
    page.goto(f"{live_server.url}{CHANGELIST}")
    filter_by_state(page, "Compensated")
    assert listed_keys(page) == {rejected_order, stuck_order}
    cancelled = saga_of(api, stuck_order)
    assert cancelled["state"] == "Compensated"
    assert cancelled["reason"] == "cancelled: cancelled in admin by admin"
    assert api.get(f"/api/orders/{stuck_order}").json()["state"] == "Rejected"
    assert (credit_available(api, customer), stock(api, other)) == ("77.50", 9)
    assert bus.dead_letters() == []
