"""The writers keep the read models equal to the processors' outputs: updates while a window
is open, its final once, retracted sessions gone; idempotent when a batch is written again."""

import random
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest

from analytics import commands, streams
from analytics.read_models import CustomerSession, OrderMinute, ProductMinute
from edn_core.streams import processors
from edn_core.streams.pipeline import State
from edn_core.streams.windows import to_ms
from tests.analytics.factories import START, Log, placed

pytestmark = pytest.mark.django_db(databases="__all__")
P1, P2 = "6f1c1b5e-0d3a-4a39-9c47-1c9a4f1d2b01", "0b6a3e2c-8f7d-4c1e-a5b2-3d4e5f6a7b02"
ADA = "3a0e4e2c-1b7d-4f6e-8c5a-9d2b1e0f3c01"
ALIAS = "analytics"


def at(minutes, seconds=0):
    return START + timedelta(minutes=minutes, seconds=seconds)


class Processor:
    """Process batches as the runtime does: the outputs written, then the state applied."""

    def __init__(self, aggregation, write):
        self.aggregation, self.write, self.state = aggregation, write, State()

    def __call__(self, batch):
        result = self.aggregation.process(self.state, batch)
        self.write(result.outputs, ALIAS)
        self.state.apply(result)
        return result.outputs


def minutes(model=OrderMinute, **filters):
    rows = model.objects.filter(**filters).order_by("window_start", "partition")
    return [(r.partition, r.window_start, r.orders, r.units, r.revenue, r.final) for r in rows]


def test_order_minutes_are_updated_while_open_then_final():
    process = Processor(streams.order_minutes, commands.write_order_minutes)
    process(
        [
            placed(1, at=at(0, 5), items=[(P1, 2, "10.00")]),
            placed(1, at=at(0, 6), items=[(P2, 1, "0.10")], partition=1),
        ]
    )
    assert minutes() == [
        (0, at(0), 1, 2, Decimal("20.00"), False),
        (1, at(0), 1, 1, Decimal("0.10"), False),
    ]
    outputs = process([placed(2, at=at(0, 30), items=[(P1, 1, "10.00")])])
    assert minutes()[0] == (0, at(0), 2, 3, Decimal("30.00"), False)
    process([placed(3, at=at(1, 10), items=[(P1, 1, "1.00")])])  # closes 10:00 in partition 0
    assert minutes() == [
        (0, at(0), 2, 3, Decimal("30.00"), True),
        (1, at(0), 1, 1, Decimal("0.10"), False),
        (0, at(1), 1, 1, Decimal("1.00"), False),
    ]
    commands.write_order_minutes(outputs, ALIAS)  # a batch written twice changes nothing new
    assert OrderMinute.objects.count() == 3
    assert OrderMinute.objects.get(partition=0, window_start=at(0)).window_end == at(1)


def test_product_minutes_are_kept_per_product():
    process = Processor(streams.product_minutes, commands.write_product_minutes)
    process([placed(1, at=at(0), items=[(P1, 2, "10.00"), (P2, 3, "0.10")])])
    assert minutes(ProductMinute, product_id=P1) == [(0, at(0), 1, 2, Decimal("20.00"), False)]
    assert minutes(ProductMinute, product_id=P2) == [(0, at(0), 1, 3, Decimal("0.30"), False)]


def test_sessions_merged_by_a_bridging_order_leave_one_row():
    log = Log(partitions=2)
    process = Processor(streams.customer_sessions, commands.write_customer_sessions)

    def orders(*entries):
        appended = [streams.customer_order_entry(e.value, e.value["id"]) for e in entries]
        return process(log.append(appended))

    orders(
        placed(1, at=at(0), items=[(P1, 1, "1.00")], customer=ADA),
        placed(2, at=at(30, 5), items=[(P1, 1, "1.00")], customer=ADA),
    )
    assert CustomerSession.objects.count() == 2
    orders(placed(3, at=at(29, 58), items=[(P1, 1, "1.00")], customer=ADA))
    row = CustomerSession.objects.get()
    assert (row.session_start, row.session_end, row.orders, row.final) == (
        at(0),
        at(30, 5),
        3,
        False,
    )
    orders(placed(4, at=at(61), items=[(P1, 1, "1.00")], customer=ADA))  # 31 min later
    sessions = CustomerSession.objects.order_by("session_start")
    assert [(s.session_start, s.orders, s.final) for s in sessions] == [
        (at(0), 3, True),
        (at(61), 1, False),
    ]


def test_the_endpoints_equal_a_recomputation_from_the_orders(api):
    """Random orders in three partitions, out of order within the grace period, processed in
    batches of random sizes: the HTTP figures equal those computed from the orders."""
    rng = random.Random(15)
    arrivals = []
    for _ in range(300):
        when = at(rng.randrange(40), rng.randrange(60))
        price = f"{rng.randint(0, 999)}.{rng.randint(0, 99):02}"
        item = (rng.choice([P1, P2]), rng.randint(1, 5), price)
        late_by = timedelta(seconds=rng.randrange(8))  # less than the grace period
        arrivals.append((when + late_by, rng.randrange(3), when, item))
    arrivals.sort(key=lambda arrival: arrival[0])
    entries, offsets = [], Counter()
    expected = defaultdict(lambda: [0, 0, Decimal(0)])
    for _arrival, partition, when, (product, quantity, price) in arrivals:
        offsets[partition] += 1
        items = [(product, quantity, price)]
        entries.append(placed(offsets[partition], at=when, items=items, partition=partition))
        figures = expected[to_ms(when) // 300_000 * 300_000]
        figures[0] += 1
        figures[1] += quantity
        figures[2] += Decimal(price) * quantity
    order_minutes = Processor(streams.order_minutes, commands.write_order_minutes)
    product_minutes = Processor(streams.product_minutes, commands.write_product_minutes)
    done = 0
    while done < len(entries):
        size = rng.randint(1, 40)
        order_minutes(entries[done : done + size])
        product_minutes(entries[done : done + size])
        done += size
    query = {"window": "PT5M", "from": "2026-12-01T10:00:00Z", "to": "2026-12-01T10:40:00Z"}
    got = api.get("/api/stats/orders", query).json()["results"]
    assert [(w["orders"], w["units"], Decimal(w["revenue"])) for w in got] == [
        tuple(expected[to_ms(at(m))]) for m in range(0, 40, 5)
    ]
    p1 = api.get(f"/api/stats/products/{P1}", query).json()["results"]
    p2 = api.get(f"/api/stats/products/{P2}", query).json()["results"]
    assert [a["orders"] + b["orders"] for a, b in zip(p1, p2, strict=True)] == [
        w["orders"] for w in got
    ]


def test_a_processor_starting_over_clears_its_read_model():
    process = Processor(streams.order_minutes, commands.write_order_minutes)
    process([placed(1, at=at(0), items=[(P1, 1, "1.00")])])
    ProductMinute.objects.create(
        partition=0, product_id=P1, window_start=at(0), window_end=at(1), revenue=1
    )
    processors.get("analytics.order-minutes").clear(ALIAS)
    assert (OrderMinute.objects.count(), ProductMinute.objects.count()) == (0, 1)
