"""Saga state in the Django admin, in a real browser at 1400 px, as an operator uses it: the
list searched by order id and filtered by state and by "stuck"; a compensated saga's timeline
in time order, failure and compensations marked in colour and in words, times in the admin's
time zone, payloads folded; cancelling a stuck saga. Each page reviewed is kept as a
screenshot (``ARTIFACTS``) and nothing on it is cut off or wider than the window."""

import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from edn_core.bus.subscriptions import by_consumer, subscribe, subscriptions_for, unsubscribe
from edn_core.testing import EventBus
from sagas.models import SagaRecord
from tests.browser.conftest import ARTIFACTS
from tests.sagas.helpers import credit_available, new_customer, new_product, place, saga_of, stock

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)
CHANGELIST = "/admin/sagas/sagarecord/"
WIDTH = 1400
ZONE = "Asia/Kolkata"  # the admin's time zone here: UTC+05:30, so UTC times would show
DURATION = re.compile(r"^(\d+(\.\d)? ms|\d+\.\d\d s)$")
# Elements whose content is wider than their box and clipped or scrolled: something cut off
# (what is hidden on purpose, for screen readers only, aside).
CLIPPED = """() => [...document.querySelectorAll('#content *')]
  .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible')
  .filter(e => !e.closest('.visually-hidden'))
  .map(e => e.tagName + '.' + e.className)"""


def review(page, name: str, prefix: str = "saga-admin") -> None:
    """Keep a screenshot of the page; nothing on it is cut off at 1400 px."""
    page.screenshot(path=str(ARTIFACTS / f"{prefix}-{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, name
    assert page.evaluate(CLIPPED) == [], name


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
    """The whole key (the order id) of every row in the change list: the column shows its
    start, the title holds it all."""
    keys = page.locator("#result_list tbody td.field-saga_key .edn-id")
    return {keys.nth(i).get_attribute("title") for i in range(keys.count())}


def click_filter(page, title: str, choice: str) -> None:
    """Click a choice in the sidebar's filter (not by typing a URL)."""
    section = page.locator(f"#changelist-filter details[data-filter-title='{title}']")
    with page.expect_navigation():
        section.locator("a", has_text=re.compile(f"^{re.escape(choice)}$")).click()


def search(page, text: str) -> None:
    page.fill("#searchbar", text)
    with page.expect_navigation():
        page.press("#searchbar", "Enter")


def milliseconds(took: str) -> tuple[float, float]:
    """A shown duration in ms, and half its last shown digit (what rounding may hide)."""
    number, unit = took.split()
    scale = 1000 if unit == "s" else 1
    decimals = len(number.partition(".")[2])
    return float(number) * scale, scale * 0.5 * 10**-decimals


def field(page, name: str):
    """The shown value of a field of the detail page, alone on its row or beside others."""
    beside = page.locator(f".fieldBox.field-{name} .readonly")
    return beside if beside.count() else page.locator(f".form-row.field-{name} .readonly")


def local(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(ZONE))


def background(locator) -> str:
    return locator.evaluate("e => getComputedStyle(e).backgroundColor")


def test_saga_list_timeline_and_cancelling_a_stuck_saga(
    live_server, browser, api, silence_inventory, settings
):
    settings.TIME_ZONE = ZONE
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
    # the stuck saga has waited 20 minutes; the executed one finished two hours ago
    now = timezone.now()
    SagaRecord.objects.filter(pk=stuck["id"]).update(updated_at=now - timedelta(minutes=20))
    SagaRecord.objects.filter(pk=executed["id"]).update(updated_at=now - timedelta(hours=2))

    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    login(page, live_server.url)
    header = page.locator("#site-name").inner_text()
    assert header.startswith("Event Driven Django") and "sagas" in header

    # -- the list: filtered by state; a finished saga claims no current step -------------
    page.goto(f"{live_server.url}{CHANGELIST}")
    assert listed_keys(page) == {executed_order, rejected_order, stuck_order}
    review(page, "list")
    for state, order_id, saga, step in (
        ("Executed", executed_order, executed, "-"),
        ("Compensated", rejected_order, rejected, "-"),
        ("Executing", stuck_order, stuck, "ReserveProductInventory"),
    ):
        page.goto(f"{live_server.url}{CHANGELIST}")
        click_filter(page, "state", state)
        assert listed_keys(page) == {order_id}, state
        row = page.locator("#result_list tbody tr")
        assert row.locator("td.field-state_badge").inner_text() == state
        saga_id = row.locator(".field-saga .edn-id")
        assert saga_id.inner_text() == f"{saga['id'][:8]}…"  # one line, monospace
        assert saga_id.get_attribute("title") == saga["id"]
        assert saga_id.evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"
        assert row.locator("td.field-saga_type").inner_text() == "CreateOrder"
        assert row.locator("td.field-step_now").inner_text() == step, state
    assert "1 saga" in page.locator("#changelist-form .paginator").inner_text()

    # -- "stuck": running and unchanged for a while (finished sagas never are) ----------
    page.goto(f"{live_server.url}{CHANGELIST}")
    for choice, expected in (
        ("for over 5 minutes", {stuck_order}),
        ("for over 15 minutes", {stuck_order}),
        ("for over 60 minutes", set()),
    ):
        click_filter(page, "stuck (running, unchanged)", choice)
        assert listed_keys(page) == expected, choice
    page.goto(f"{live_server.url}{CHANGELIST}?stuck_for=15")
    review(page, "list-stuck")

    # -- search: by the start of an order id as the list shows it, by a customer id -----
    page.goto(f"{live_server.url}{CHANGELIST}")
    search(page, rejected_order[:8])
    assert listed_keys(page) == {rejected_order}
    search(page, customer["id"])  # a value in the saga's data
    assert listed_keys(page) == {executed_order, rejected_order, stuck_order}

    # -- the compensated saga: its timeline in the order things ran ---------------------
    search(page, rejected_order)
    page.locator("#result_list tbody tr .field-saga a").click()
    page.wait_for_url(re.compile(rf"/{rejected['id']}/change/"))
    assert field(page, "saga_full_key").inner_text() == rejected_order
    assert field(page, "state_badge").inner_text() == "Compensated"
    assert field(page, "step_now").inner_text() == "-"
    assert DURATION.match(field(page, "took").inner_text())  # from start to the last change
    assert "ReserveProductInventory" in field(page, "reason").inner_text()

    timeline = page.locator("table.saga-timeline")
    headers = timeline.locator("thead th").all_text_contents()  # as written: CSS capitalises
    assert headers == [
        "#", "step", "phase", "result", f"started ({ZONE})", "took", "messages"
    ]  # fmt: skip
    rows = timeline.locator("tbody tr")
    cells = [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())]
    # every action and compensation that ran, as it ran: the refused reservation held nothing
    # to undo, the credit is released, then the order rejected; the last step never started
    assert [(c[1], c[2], c[3].splitlines()[0]) for c in cells] == [
        ("CreateOrder", "action", "Succeeded"),
        ("ReserveCustomerCredit", "action", "Succeeded"),
        ("ReserveProductInventory", "action", "Failed"),
        ("ReserveCustomerCredit", "compensation", "Succeeded"),
        ("CreateOrder", "compensation", "Succeeded"),
    ]
    assert "SetOrderStateCreated" not in timeline.inner_text()
    starts = [rows.nth(i).locator("time").get_attribute("datetime") for i in range(rows.count())]
    assert starts == sorted(starts, key=datetime.fromisoformat)
    stored = {s["name"]: s for s in rejected["steps"]}
    for cell, start, (step, kind) in zip(cells, starts, [(c[1], c[2]) for c in cells], strict=True):
        assert start == stored[step][kind]["startedAt"]
        shown_time = cell[4].split()[0]  # local, to the second: no microseconds
        assert shown_time == local(start).strftime("%H:%M:%S"), (step, kind)
        took, expected_ms = cell[5], stored[step][kind]["durationMs"]
        assert DURATION.match(took), (step, kind, took)
        shown_ms, rounding = milliseconds(took)
        assert abs(shown_ms - expected_ms) <= rounding + 0.001, (step, kind, took, expected_ms)

    # the failure: marked in colour and in words, with the refusal's reason
    failed, succeeded = rows.nth(2), rows.nth(1)
    assert "saga-failed" in failed.get_attribute("class")
    assert failed.locator("td.saga-result .edn-badge").inner_text() == "Failed"
    assert "available" in failed.locator(".saga-reason").inner_text()
    assert background(failed.locator("td").first) != background(succeeded.locator("td").first)
    assert background(failed.locator(".edn-badge")) != background(succeeded.locator(".edn-badge"))
    # compensations: marked in colour and in words; actions are not
    for i, compensation in ((3, True), (4, True), (0, False), (1, False)):
        kind = rows.nth(i).locator("td.saga-kind")
        assert ("saga-compensation" in rows.nth(i).get_attribute("class")) is compensation
        assert kind.locator(".edn-badge.edn-undo").count() == (1 if compensation else 0)
    assert background(rows.nth(3).locator("td.saga-kind .edn-badge")) != background(
        rows.nth(1).locator("td.saga-kind")
    )

    # payloads folded: the credit reservation's request and reply, closed until clicked
    credit = rows.nth(1)
    summaries = [s.split()[:2] for s in credit.locator("details > summary").all_inner_texts()]
    assert summaries == [
        ["sent", "v1.CustomerCreditReserveRequested"],
        ["received", "v1.CustomerCreditReserved"],
    ]
    for details in page.locator("details").all():
        assert details.get_attribute("open") is None
        assert not details.locator("pre").is_visible()
    review(page, "compensated")
    sent = credit.locator("details").first
    sent.locator("summary").click()
    payload = sent.locator("pre")
    payload.wait_for(state="visible")
    shown_payload = json.loads(payload.inner_text())
    assert shown_payload == stored["ReserveCustomerCredit"]["action"]["sent"][0]["data"]
    assert shown_payload["customerId"] == customer["id"]
    assert shown_payload["reservation"] == rejected["key"]  # reserved under the order id
    page.locator("details.saga-data > summary").click()
    assert json.loads(page.locator("details.saga-data pre").inner_text())["orderId"] == (
        rejected_order
    )
    review(page, "compensated-unfolded")

    # -- cancelling the stuck saga from the list ----------------------------------------
    page.goto(f"{live_server.url}{CHANGELIST}?stuck_for=15")
    page.check(f"input.action-select[value='{stuck['id']}']")
    page.select_option("select[name=action]", label="Cancel (stuck saga: compensate)")
    page.click("button[name=index]")
    message = page.locator("ul.messagelist li.success")
    message.wait_for()
    assert message.inner_text() == f"Saga {stuck['id']}: done"  # capfirst in admin/base.html
    assert page.locator("ul.messagelist li.error").count() == 0

    page.goto(f"{live_server.url}{CHANGELIST}")
    click_filter(page, "state", "Compensating")
    assert listed_keys(page) == {stuck_order}
    assert page.locator("td.field-step_now").inner_text() == (
        "ReserveProductInventory (compensating)"
    )
    assert SagaRecord.objects.get(pk=stuck["id"]).state == "Compensating"
    page.goto(f"{live_server.url}{CHANGELIST}{stuck['id']}/change/")
    assert field(page, "state_badge").inner_text() == "Compensating"
    assert "cancelled in admin by admin" in field(page, "reason").inner_text()
    waiting = page.locator("table.saga-timeline tbody tr")
    assert [
        tuple(waiting.nth(i).locator("td").all_inner_texts()[1:4]) for i in range(waiting.count())
    ] == [
        ("CreateOrder", "action", "Succeeded"),
        ("ReserveCustomerCredit", "action", "Succeeded"),
        ("ReserveProductInventory", "action", "Failed"),  # cancelled while waiting
        # ... and compensated, since it may have reserved before its reply
        ("ReserveProductInventory", "compensation", "Waiting for a reply"),
    ]
    assert waiting.nth(3).locator("td.saga-took").inner_text().endswith("so far")
    assert field(page, "took").inner_text().startswith("running for ")
    review(page, "compensating")

    restore_inventory()
    bus.run_until_quiet()
    page.goto(f"{live_server.url}{CHANGELIST}")
    click_filter(page, "state", "Compensated")
    assert listed_keys(page) == {rejected_order, stuck_order}
    cancelled = saga_of(api, stuck_order)
    assert cancelled["state"] == "Compensated"
    assert cancelled["reason"] == "cancelled: cancelled in admin by admin"
    assert api.get(f"/api/orders/{stuck_order}").json()["state"] == "Rejected"
    assert (credit_available(api, customer), stock(api, other)) == ("77.50", 9)
    assert bus.dead_letters() == []
