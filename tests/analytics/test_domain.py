"""What an order contributes to the statistics, and the windows a reader asks for (no DB)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from analytics import domain
from analytics.domain import Window, WindowRange
from edn_core.domain import ValidationFailed
from tests.analytics.factories import MINUTE, START, placed

P1, P2 = "6f1c1b5e-0d3a-4a39-9c47-1c9a4f1d2b01", "0b6a3e2c-8f7d-4c1e-a5b2-3d4e5f6a7b02"


def test_an_order_gives_its_units_and_total_and_its_lines_per_product():
    event = placed(1, at=START, items=[(P1, 2, "10.00"), (P2, 3, "0.10")]).value
    assert domain.is_order_placed(event)
    assert domain.order_figures(event) == {"units": 5, "revenue": "20.30"}
    assert domain.order_lines(event) == [
        {"productId": P1, "units": 2, "revenue": "20.00"},
        {"productId": P2, "units": 3, "revenue": "0.30"},
    ]
    assert domain.customer_order(event) == {
        "time": "2026-12-01T10:00:00Z",
        "orderId": event["data"]["orderId"],
        "customerId": event["data"]["customerId"],
    }
    assert not domain.is_order_placed({**event, "type": "v1.OrderShipped"})


@pytest.mark.parametrize(
    ("field", "value"),
    [("orderTotal", "NaN"), ("orderTotal", "-1"), ("orderTotal", 7), ("quantity", "2")],
)
def test_an_order_with_broken_figures_is_refused(field, value):
    event = placed(1, at=START, items=[(P1, 2, "10.00")]).value
    if field == "quantity":
        event["data"]["items"][0][field] = value
    else:
        event["data"][field] = value
    with pytest.raises((ValueError, ArithmeticError)):
        domain.order_figures(event)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        *[("PT1M", 1), ("PT5M", 5), ("PT90M", 90), ("PT1440M", 1440)],
        *[("PT1H", 60), ("PT24H", 1440), ("P1D", 1440)],
    ],
)
def test_windows_are_whole_minutes_up_to_a_day(text, minutes):
    assert domain.window_minutes(text) == minutes


@pytest.mark.parametrize(
    "text",
    [
        *["PT0M", "PT1441M", "PT25H", "PT0H", "P2D", "PT30S", "PT1H30M", "pt1m", "PT01M"],
        *["1", "", "PT1M\n", " PT1M", "P1W", "PT1.5M"],
    ],
)
def test_other_windows_are_refused(text):
    with pytest.raises(ValidationFailed) as refused:
        domain.window_minutes(text)
    assert list(refused.value.errors) == ["window"]


def test_windows_are_aligned_to_the_epoch_and_the_first_holds_the_start():
    span = WindowRange(START + timedelta(minutes=7, seconds=30), START + timedelta(minutes=20), 5)
    starts = [window.start for window in span.fold([])]
    assert starts == [START + timedelta(minutes=m) for m in (5, 10, 15)]
    assert span.minutes_span() == (START + 5 * MINUTE, START + 20 * MINUTE)
    day = WindowRange(START, START + timedelta(hours=1), 1440)
    assert [w.start for w in day.fold([])] == [datetime(2026, 12, 1, tzinfo=UTC)]


def test_folding_sums_the_minutes_of_each_window_and_keeps_empty_windows():
    span = WindowRange(START, START + 15 * MINUTE, 5)
    rows = [
        (START, 1, 2, Decimal("10.00")),
        (START + 4 * MINUTE, 2, 3, Decimal("0.10")),
        (START + 10 * MINUTE, 1, 1, Decimal("0.20")),
        (START + 15 * MINUTE, 9, 9, Decimal("9.00")),  # outside: ignored
    ]
    assert span.fold(rows) == [
        Window(START, START + 5 * MINUTE, 3, 5, Decimal("10.10")),
        Window(START + 5 * MINUTE, START + 10 * MINUTE),
        Window(START + 10 * MINUTE, START + 15 * MINUTE, 1, 1, Decimal("0.20")),
    ]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (START, START, "to must be after from."),
        (START, START - MINUTE, "to must be after from."),
        (START, START + timedelta(days=31, minutes=1), "The range spans more than 31 days."),
        (START, START + 1441 * MINUTE, "The range holds more than 1440 windows."),
    ],
)
def test_ranges_that_are_empty_or_too_large_are_refused(start, end, message):
    with pytest.raises(ValidationFailed) as refused:
        WindowRange(start, end, 1)
    assert refused.value.errors == {"to": [message]}


def test_the_largest_ranges_are_accepted():
    assert len(WindowRange(START, START + 1440 * MINUTE, 1).fold([])) == 1440
    assert len(WindowRange(START, START + timedelta(days=31), 60).fold([])) == 744


def test_windows_beyond_what_python_represents_are_left_out():
    first = datetime.min.replace(tzinfo=UTC)
    last = datetime.max.replace(tzinfo=UTC)
    early = WindowRange(first + timedelta(seconds=30), first + 3 * MINUTE, 7).fold([])
    assert [w.start for w in early] == [first + MINUTE]  # the one before starts in year 0
    late = WindowRange(last - 2 * MINUTE, last, 1).fold([])
    ends = [datetime(9999, 12, 31, 23, m, tzinfo=UTC) for m in (58, 59)]
    assert [w.end for w in late] == ends  # the window ending in year 10000 is left out
