"""Order statistics, pure Python: what an order event contributes, and the windows a reader
asks for (no framework).

Analytics owns no aggregate: it is a read-only service whose figures come from the orders'
integration events, read from a stream (``analytics.streams``). A stream entry's value is the
event's envelope, ``{"id", "type", "time", "sequence", "data": {...the v1.OrderPlaced
payload...}}``; its event time is ``time``, when the order was placed.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from edn_core.domain import ValidationFailed
from edn_core.streams.windows import from_ms, to_ms

ORDER_PLACED = "v1.OrderPlaced"
ALL_ORDERS = "all"  # the one key of the per-minute figures of every order

# A window is a whole number of minutes, from one minute to one day, in ISO 8601.
WINDOW_PATTERN = (
    r"^(PT([1-9][0-9]{0,2}|1[0-3][0-9]{2}|14[0-3][0-9]|1440)M"
    r"|PT([1-9]|1[0-9]|2[0-4])H|P1D)$"
)
WINDOW_HELP = "A whole number of minutes up to a day: PT1M to PT1440M, PT1H to PT24H, or P1D."
DEFAULT_WINDOW = "PT1M"
MAX_WINDOWS = 1440
MAX_RANGE = timedelta(days=31)
MINUTE_MS = 60_000
# The instants Python represents (in ms): windows beyond them are not answered.
FIRST_MS = to_ms(datetime.min.replace(tzinfo=UTC))
LAST_MS = to_ms(datetime.max.replace(tzinfo=UTC))


def is_order_placed(event: dict[str, Any]) -> bool:
    return event.get("type") == ORDER_PLACED


def _money(text: Any) -> Decimal:
    amount = Decimal(text) if isinstance(text, str) else None
    if amount is None or not amount.is_finite() or amount < 0:
        raise ValueError(f"not an amount of money: {text!r}")
    return amount


def _units(quantity: Any) -> int:
    if type(quantity) is not int or quantity < 1:
        raise ValueError(f"not a quantity: {quantity!r}")
    return quantity


def _id(value: Any) -> str:
    return str(uuid.UUID(value))


def order_figures(event: dict[str, Any]) -> dict[str, Any]:
    """An order's units and revenue (its total, a decimal string)."""
    data = event["data"]
    units = sum(_units(item["quantity"]) for item in data["items"])
    return {"units": units, "revenue": str(_money(data["orderTotal"]))}


def order_lines(event: dict[str, Any]) -> list[dict[str, Any]]:
    """An order's figures per product: each line's units and revenue (price times quantity)."""
    return [
        {
            "productId": _id(item["productId"]),
            "units": _units(item["quantity"]),
            "revenue": str(_money(item["productPrice"]) * item["quantity"]),
        }
        for item in event["data"]["items"]
    ]


def customer_order(event: dict[str, Any]) -> dict[str, Any]:
    """What a customer's activity needs of an order: when, which order, whose."""
    data = event["data"]
    return {
        "time": event["time"],
        "orderId": _id(data["orderId"]),
        "customerId": _id(data["customerId"]),
    }


def window_minutes(window: str) -> int:
    """The minutes of an ISO 8601 window (``PT5M``: 5); refuses any other form."""
    found = re.fullmatch(WINDOW_PATTERN, window)
    if found is None:
        raise ValidationFailed({"window": [WINDOW_HELP]})
    minutes, hours = found.group(2), found.group(3)
    return int(minutes) if minutes else 60 * int(hours) if hours else 1440


@dataclass(frozen=True)
class Window:
    """The figures of one window ``[start, end)``."""

    start: datetime
    end: datetime
    orders: int = 0
    units: int = 0
    revenue: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class WindowRange:
    """The windows of ``minutes`` that meet ``[start, end)``, aligned to the epoch (a window
    of a divisor of a day starts at UTC midnight)."""

    start: datetime
    end: datetime
    minutes: int

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ValidationFailed({"to": ["to must be after from."]})
        if self.end - self.start > MAX_RANGE:
            raise ValidationFailed({"to": [f"The range spans more than {MAX_RANGE.days} days."]})
        if len(self.bounds()) > MAX_WINDOWS:
            raise ValidationFailed({"to": [f"The range holds more than {MAX_WINDOWS} windows."]})

    def bounds(self) -> range:
        """The start of every window, in ms (those Python cannot represent left out)."""
        size = self.minutes * MINUTE_MS
        first = to_ms(self.start) // size * size
        first += size if first < FIRST_MS else 0
        last = min(to_ms(self.end), LAST_MS - size + 1)
        return range(first, last, size)

    def fold(self, minutes: list[tuple[datetime, int, int, Decimal]]) -> list[Window]:
        """Every window of the range with the sum of its ``(minute, orders, units, revenue)``
        rows (the windows without orders too, with zeros)."""
        size = self.minutes * MINUTE_MS
        bounds = self.bounds()
        totals = {start: [0, 0, Decimal("0.00")] for start in bounds}
        for minute, orders, units, revenue in minutes:
            start = to_ms(minute) // size * size
            if start in totals:
                total = totals[start]
                total[0] += orders
                total[1] += units
                total[2] += revenue
        return [Window(from_ms(start), from_ms(start + size), *totals[start]) for start in bounds]

    def minutes_span(self) -> tuple[datetime, datetime]:
        """The minute rows to read: from the first window's start to the last one's end."""
        bounds = self.bounds()
        if not bounds:
            return self.start, self.start
        return from_ms(bounds[0]), from_ms(bounds[-1] + bounds.step)
