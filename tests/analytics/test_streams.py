"""The analytics pipelines over hand-built stream entries (pure: no database)."""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest

from analytics import domain, streams
from edn_core.streams import processors
from edn_core.streams.pipeline import EntryFailed, State
from edn_core.streams.windows import to_ms
from tests.analytics.factories import START, Log, other, placed

P1, P2 = "6f1c1b5e-0d3a-4a39-9c47-1c9a4f1d2b01", "0b6a3e2c-8f7d-4c1e-a5b2-3d4e5f6a7b02"
ADA, BOB = "3a0e4e2c-1b7d-4f6e-8c5a-9d2b1e0f3c01", "7c2d9e8f-6a5b-4c3d-2e1f-0a9b8c7d6e02"
SECOND = timedelta(seconds=1)


def run(aggregation, *batches, state=None):
    """Process ``batches`` one after another, committing each; return every output."""
    state, outputs = state or State(), []
    for batch in batches:
        result = aggregation.process(state, batch)
        outputs += result.outputs
        state.apply(result)
    return state, outputs


def finals(outputs):
    """The final figures per (key, window start), added up over partitions."""
    totals = defaultdict(lambda: [0, 0, Decimal(0)])
    for o in outputs:
        if o.kind == "final":
            total = totals[(o.key, o.start)]
            total[0] += o.value["orders"]
            total[1] += o.value["units"]
            total[2] += Decimal(o.value["revenue"])
    return {key: tuple(total) for key, total in totals.items()}


def at(minutes, seconds=0):
    return START + timedelta(minutes=minutes, seconds=seconds)


def ms(minutes):
    return to_ms(at(minutes))


def test_orders_per_minute_add_up_over_partitions_and_skip_other_events():
    batch = [
        placed(1, at=at(0, 5), items=[(P1, 2, "10.00")]),
        placed(1, at=at(0, 50), items=[(P2, 1, "0.10")], partition=1),
        other(2, at=at(0, 55)),
        placed(3, at=at(1, 1), items=[(P1, 1, "10.00"), (P2, 3, "0.20")]),
        placed(2, at=at(2, 30), items=[(P2, 1, "0.10")], partition=1),
        placed(4, at=at(2, 30), items=[(P1, 1, "1.00")]),
    ]
    _state, outputs = run(streams.order_minutes, batch)
    assert finals(outputs) == {
        ("all", ms(0)): (2, 3, Decimal("20.10")),
        ("all", ms(1)): (1, 4, Decimal("10.60")),
    }
    updates = {(o.partition, o.start) for o in outputs if o.kind == "update"}
    assert updates == {(0, ms(2)), (1, ms(2))}  # still open: the stats show them live


def test_per_product_per_minute_counts_each_line():
    batch = [
        placed(1, at=at(0), items=[(P1, 2, "10.00"), (P2, 1, "0.10")]),
        placed(2, at=at(0, 30), items=[(P1, 1, "10.00")]),
        placed(3, at=at(5), items=[(P2, 1, "0.10")]),
    ]
    _state, outputs = run(streams.product_minutes, batch)
    assert finals(outputs) == {
        (P1, ms(0)): (2, 3, Decimal("30.00")),
        (P2, ms(0)): (1, 1, Decimal("0.10")),
    }


def test_a_late_order_within_the_grace_period_counts_a_later_one_goes_to_the_side_output():
    first = [placed(1, at=at(0, 30), items=[(P1, 1, "1.00")])]
    moved_on = [placed(2, at=at(1, 5), items=[(P1, 1, "1.00")])]  # stream time 10:01:05
    in_grace = [placed(3, at=at(0, 59), items=[(P1, 1, "1.00")])]  # 6 s late, grace 10 s
    after = [placed(4, at=at(1, 11), items=[(P1, 1, "1.00")])]  # closes 10:00 (end + 10 s)
    too_late = [placed(5, at=at(0, 58), items=[(P1, 1, "1.00")])]
    state, outputs = run(streams.order_minutes, first, moved_on, in_grace, after)
    assert finals(outputs) == {("all", ms(0)): (2, 2, Decimal("2.00"))}
    result = streams.order_minutes.process(state, too_late)
    assert [(late.offset, late.windows) for late in result.late] == [(5, ((ms(0), ms(1)),))]
    assert result.positions[0].late == 1 and not result.outputs


def by_customer(entries):
    """The placed orders among ``entries`` as analytics.events appends them, by customer."""
    return [
        streams.customer_order_entry(e.value, e.value["id"])
        for e in entries
        if domain.is_order_placed(e.value)
    ]


def sessions(orders_batches, partitions=3):
    """Orders appended by customer to a stream of ``partitions``, then sessionized."""
    log = Log(partitions)
    return run(streams.customer_sessions, *(log.append(by_customer(b)) for b in orders_batches))


def test_customer_sessions_are_orders_at_most_30_minutes_apart_across_order_partitions():
    orders = [
        placed(1, at=at(0), items=[(P1, 1, "1.00")], customer=ADA),
        placed(1, at=at(20), items=[(P1, 1, "1.00")], customer=ADA, partition=1),
        placed(2, at=at(25), items=[(P1, 1, "1.00")], customer=BOB),
        other(3, at=at(26)),
        placed(2, at=at(51), items=[(P1, 1, "1.00")], customer=ADA, partition=1),  # 31 min
        placed(4, at=at(200), items=[(P1, 1, "1.00")], customer=BOB),
    ]
    _state, outputs = sessions([orders], partitions=1)
    closed = sorted(
        (o.key, o.start, o.end, o.value["orders"]) for o in outputs if o.kind == "final"
    )
    assert closed == [
        (ADA, ms(0), ms(20), 2),
        (ADA, ms(51), ms(51), 1),
        (BOB, ms(25), ms(25), 1),
    ]


def test_an_order_bridging_two_sessions_merges_them_and_retracts_the_stored_ones():
    # 30 min 5 s apart: two sessions; an order of 10:29:58 that comes in late (within the
    # grace period) is at most 30 minutes from both
    two = [
        placed(1, at=at(0), items=[(P1, 1, "1.00")], customer=ADA),
        placed(2, at=at(30, 5), items=[(P1, 1, "1.00")], customer=ADA),
    ]
    bridge = [placed(3, at=at(29, 58), items=[(P1, 1, "1.00")], customer=ADA)]
    _state, outputs = sessions([two, bridge])
    second = to_ms(at(30, 5))
    assert [(o.kind, o.start, o.end, o.value) for o in outputs] == [
        ("update", ms(0), ms(0), {"orders": 1}),
        ("update", second, second, {"orders": 1}),
        ("retract", ms(0), ms(0), None),
        ("update", ms(0), second, {"orders": 3}),
        ("retract", second, second, None),
    ]


def test_a_broken_order_is_named_with_its_position_in_the_batch():
    broken = placed(2, at=at(0), items=[(P1, 1, "1.00")])
    broken.value["data"]["orderTotal"] = "a lot"
    batch = [placed(1, at=at(0), items=[(P1, 1, "1.00")]), broken]
    with pytest.raises(EntryFailed) as failed:
        streams.order_minutes.process(State(), batch)
    assert failed.value.index == 1 and failed.value.entry is broken


def test_the_processors_read_the_streams_they_name():
    names = [
        "analytics.order-minutes",
        "analytics.product-minutes",
        "analytics.customer-sessions",
    ]
    found = [processors.get(name) for name in names]
    declared = {p.name: (p.stream, p.aggregation, p.app_label) for p in found}
    assert declared == {
        "analytics.order-minutes": ("orders", streams.order_minutes, "analytics"),
        "analytics.product-minutes": ("orders", streams.product_minutes, "analytics"),
        "analytics.customer-sessions": (
            "analytics.customer-orders",
            streams.customer_sessions,
            "analytics",
        ),
    }


def test_orders_are_appended_by_customer_once_per_event():
    entry = placed(1, at=at(0), items=[(P1, 1, "1.00")], customer=ADA)
    (appended,) = by_customer([entry, other(2, at=at(0))])
    assert (appended.key, appended.id) == (ADA, "event-1")
    assert appended.value == {
        "time": "2026-12-01T10:00:00Z",
        "orderId": entry.value["data"]["orderId"],
        "customerId": ADA,
    }
