"""The processing pipeline: steps, emitting final results or updates, keys and partitions,
the state model (JSON round trip, row order), and processing as a pure function of
(state, batch): the same input gives the same result, a batch processed again after a crash
changes nothing twice. Pure unit tests: no database."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from edn_core.streams import reducers as r
from edn_core.streams import windows as w
from edn_core.streams.pipeline import (
    EntryFailed,
    Pipeline,
    Position,
    State,
    appended_time,
    header_time,
    value_time,
)
from edn_core.streams.port import Entry

MINUTE = 60_000
T0 = w.to_ms(datetime(2026, 5, 1, 12, 0, tzinfo=UTC))


def entry(offset, key, value, partition=0, headers=None, at=None):
    appended = at or datetime(2026, 5, 1, tzinfo=UTC)
    return Entry("orders", partition, offset, key, value, headers or {}, appended)


def timed(offset, key, t, v=1, partition=0):
    return entry(offset, key, {"t": t, "v": v}, partition)


def counting(definition, emit="final", reducer=None):
    return (
        Pipeline(time=value_time("t")).window(definition).aggregate(reducer or r.count(), emit=emit)
    )


def commit(state, result):
    """What a runtime does after its transaction: go on with the state (here via JSON)."""
    state.apply(result)
    return State.from_json(json.loads(json.dumps(state.to_json())))


def order(offset, minute, items, partition=0, second=0):
    placed = T0 + minute * MINUTE + second * 1000
    value = {
        "type": "OrderPlaced",
        "placedAt": w.from_ms(placed).isoformat().replace("+00:00", "Z"),
        "items": [{"productId": p, "quantity": q, "price": price} for p, q, price in items],
    }
    return entry(offset, f"order-{offset}", value, partition)


def test_order_statistics_per_minute_and_per_product():
    placed = Pipeline(time=value_time("placedAt")).filter(lambda o: o["type"] == "OrderPlaced")
    lines = placed.flat_map(
        lambda o: [
            {**item, "revenue": Decimal(item["price"]) * item["quantity"]} for item in o["items"]
        ]
    )
    stats = dict(orders=r.count(), units=r.sum("quantity"), revenue=r.sum("revenue", decimal=True))
    per_minute = (
        placed.map(
            lambda o: {
                "units": sum(i["quantity"] for i in o["items"]),
                "revenue": sum(Decimal(i["price"]) * i["quantity"] for i in o["items"]),
            }
        )
        .key_by(lambda o: "all")
        .window(w.tumbling(MINUTE, grace=5_000))
        .aggregate(orders=r.count(), units=r.sum("units"), revenue=r.sum("revenue", decimal=True))
    )
    per_product = (
        lines.key_by(lambda line: line["productId"]).window(w.tumbling(MINUTE)).aggregate(**stats)
    )
    batch = [
        order(1, 0, [("p1", 2, "10.00"), ("p2", 1, "0.10")]),
        order(2, 0, [("p1", 1, "10.00")], second=59),
        entry(3, "order-1", {"type": "OrderShipped"}),
        order(4, 1, [("p2", 3, "0.20")]),
        order(5, 2, [("p1", 1, "10.00")], second=5),
    ]
    minute = per_minute.process(State(), batch)
    assert [(o.key, o.start - T0, o.value) for o in minute.outputs] == [
        ("all", 0, {"orders": 2, "units": 4, "revenue": "30.10"}),
        ("all", MINUTE, {"orders": 1, "units": 3, "revenue": "0.60"}),
    ]
    products = per_product.process(State(), batch)
    assert [(o.key, o.start - T0, o.value) for o in products.outputs] == [
        ("p1", 0, {"orders": 2, "units": 3, "revenue": "30.00"}),
        ("p2", 0, {"orders": 1, "units": 1, "revenue": "0.10"}),
        ("p2", MINUTE, {"orders": 1, "units": 3, "revenue": "0.60"}),
    ]


def test_steps_make_records_keys_are_strings():
    customer = uuid.uuid4()
    pipeline = (
        Pipeline(source=lambda e: {**e.value, "type": e.headers["type"]}, time=header_time("time"))
        .filter(lambda v: v["type"] == "v1.OrderPlaced")
        .map(lambda v: {**v, "n": v["n"] * 10})
        .key_by(lambda v: v["customer"])
        .flat_map(lambda v: [v["n"], v["n"] + 1])
    )
    headers = {"type": "v1.OrderPlaced", "time": "2026-05-01T14:00:00.250+02:00"}
    batch = [
        entry(7, "o1", {"customer": customer, "n": 1}, partition=3, headers=headers),
        entry(8, "o2", {"customer": customer, "n": 2}, headers={**headers, "type": "v1.Other"}),
    ]
    records = pipeline.records(batch)
    assert [(x.partition, x.offset, x.key, x.time, x.value) for x in records] == [
        (3, 7, str(customer), T0 + 250, 10),
        (3, 7, str(customer), T0 + 250, 11),
    ]


def test_time_extractors():
    at = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert appended_time(entry(1, "k", {}, at=at)) == T0
    assert value_time("t")(entry(1, "k", {"t": 123})) == 123
    assert value_time("t")(entry(1, "k", {"t": "2026-05-01T12:00:00Z"})) == T0
    for bad in ("2026-05-01T12:00:00", True, None):
        with pytest.raises(ValueError):
            value_time("t")(entry(1, "k", {"t": bad}))


def test_pipelines_are_immutable():
    base = Pipeline()
    filtered = base.filter(lambda v: False)
    assert base.records([entry(1, "k", {"a": 1})])[0].value == {"a": 1}
    assert filtered.records([entry(1, "k", {"a": 1})]) == []


def test_aggregate_arguments_are_checked():
    windowed = Pipeline().window(w.tumbling(10))
    with pytest.raises(TypeError):
        windowed.aggregate()
    with pytest.raises(TypeError):
        windowed.aggregate(r.count(), n=r.count())
    with pytest.raises(ValueError, match="emit"):
        windowed.aggregate(r.count(), emit="sometimes")


# emitting


def test_final_only_emits_each_window_once_when_it_closes():
    agg = counting(w.tumbling(10, grace=5))
    state = State()
    first = agg.process(state, [timed(1, "k", 1), timed(2, "k", 3), timed(3, "k", 12)])
    assert first.outputs == []
    state = commit(state, first)
    second = agg.process(state, [timed(4, "k", 15)])
    assert [(o.kind, o.start, o.value) for o in second.outputs] == [("final", 0, 2)]


def test_emit_on_update_sends_each_changed_window_after_the_batch_then_the_final():
    agg = counting(w.tumbling(10, grace=5), emit="update")
    state = State()
    first = agg.process(state, [timed(1, "k", 1), timed(2, "k", 3), timed(3, "k", 12)])
    assert [(o.kind, o.start, o.value) for o in first.outputs] == [
        ("update", 0, 2),
        ("update", 10, 1),
    ]
    state = commit(state, first)
    second = agg.process(state, [timed(4, "k", 14)])  # only [10, 20) changed
    assert [(o.kind, o.start, o.value) for o in second.outputs] == [("update", 10, 2)]
    state = commit(state, second)
    third = agg.process(state, [timed(5, "k", 25), timed(6, "k", 26)])
    assert [(o.kind, o.start, o.value) for o in third.outputs] == [
        ("update", 20, 2),
        ("final", 0, 2),
        ("final", 10, 2),
    ]
    closed_in_batch = agg.process(State(), [timed(1, "k", 1), timed(2, "k", 40)])
    assert [(o.kind, o.start) for o in closed_in_batch.outputs] == [("update", 40), ("final", 0)]


def test_emit_on_update_retracts_sessions_merged_into_another():
    agg = counting(w.session(10, grace=100), emit="update")
    state = commit(State(), agg.process(State(), [timed(1, "k", 0), timed(2, "k", 20)]))
    result = agg.process(state, [timed(3, "k", 10), timed(4, "k", 50), timed(5, "k", 45)])
    assert [(o.kind, o.start, o.end, o.value) for o in result.outputs] == [
        ("retract", 0, 0, None),
        ("update", 0, 20, 3),
        ("retract", 20, 20, None),
        ("update", 45, 50, 2),  # [50, 50] merged in this batch: never sent, not retracted
    ]


def test_several_keys_are_independent_and_ordered():
    agg = counting(w.tumbling(10))
    batch = [
        timed(1, "b", 1),
        timed(2, "a", 2),
        timed(3, "c", 9),
        timed(4, "b", 11),
        timed(5, "a", 30),
    ]
    result = agg.process(State(), batch)
    assert [(o.key, o.start, o.value) for o in result.outputs] == [
        ("a", 0, 1),
        ("b", 0, 1),
        ("c", 0, 1),
        ("b", 10, 1),
    ]
    assert sorted(result.upserts) == [(0, "a", 30, 40)]


def test_stream_time_is_per_partition():
    agg = counting(w.tumbling(10))
    result = agg.process(State(), [timed(1, "a", 1, partition=0), timed(1, "b", 500, partition=1)])
    assert result.outputs == [] and result.late == []
    assert result.positions == {0: Position(1, 1, 0), 1: Position(1, 500, 0)}
    later = agg.process(State(), [timed(1, "b", 500, partition=1), timed(1, "a", 1, partition=0)])
    assert later.late == []  # partition 1's time does not make partition 0's record late


def test_advance_closes_windows_of_a_quiet_partition_and_never_goes_back():
    agg = counting(w.tumbling(10))
    state = commit(State(), agg.process(State(), [timed(1, "k", 3)]))
    assert agg.advance(state, {0: 9}).outputs == []
    result = agg.advance(state, {0: 10, 4: 7})
    assert [(o.start, o.value) for o in result.outputs] == [(0, 1)]
    assert result.positions == {0: Position(1, 10, 0), 4: Position(0, 7, 0)}
    assert agg.advance(state, {0: 2}).positions[0] == Position(1, 3, 0)


# the state model: pure, deterministic, idempotent


def _busy_batch(first_offset=1, seed=7):
    rng = random.Random(seed)
    return [
        timed(
            first_offset + i,
            rng.choice("abcd"),
            T0 + rng.randint(0, 600) + i * 3,
            rng.randint(1, 9),
        )
        for i in range(300)
    ]


AGGREGATIONS = {
    "tumbling": lambda: counting(w.tumbling(50, grace=400), "update", r.sum("v")),
    "hopping": lambda: counting(w.hopping(50, 20, grace=400), "update", r.sum("v")),
    "session": lambda: counting(w.session(5, grace=400), "update", r.sum("v")),
    "sliding": lambda: counting(w.sliding(20, grace=400), "update", r.sum("v")),
}


@pytest.mark.parametrize("kind", AGGREGATIONS)
def test_processing_is_a_pure_function_of_state_and_batch(kind):
    agg = AGGREGATIONS[kind]()
    batch = _busy_batch()
    state = commit(State(), agg.process(State(), batch[:150]))
    before = json.dumps(state.to_json())
    first = agg.process(state, batch[150:])
    assert json.dumps(state.to_json()) == before  # the input state is left as it was
    rows = list(state.rows())
    random.Random(3).shuffle(rows)
    reloaded = State.from_rows(state.positions(), rows)  # rows come back in any order
    assert agg.process(reloaded, batch[150:]) == first
    assert first.outputs and first.late and first.upserts


def test_state_survives_a_json_round_trip():
    agg = counting(w.tumbling(10), reducer=r.combine(n=r.count(), revenue=r.sum("v", decimal=True)))
    state = State()
    state.apply(agg.process(state, [timed(1, "k", 1, "2.50"), timed(2, "j", 2, "0.1")]))
    data = json.loads(json.dumps(state.to_json()))
    assert data == {
        "positions": [[0, 2, 2, 0]],
        "windows": [
            [0, "j", 0, 10, {"n": 1, "revenue": "0.1"}],
            [0, "k", 0, 10, {"n": 1, "revenue": "2.50"}],
        ],
    }
    assert State.from_json(data) == state
    assert state.partition(9).position == Position()


def test_stored_accumulators_are_loaded_before_adding():
    revenue = counting(w.tumbling(10), reducer=r.sum("v", decimal=True))
    state = commit(State(), revenue.process(State(), [timed(1, "k", 1, "2.50")]))
    assert list(state.rows()) == [(0, "k", 0, 10, "2.50")]
    result = revenue.process(state, [timed(2, "k", 2, "0.75"), timed(3, "k", 10, "1")])
    assert [(o.start, o.value) for o in result.outputs] == [(0, "3.25")]


def test_applying_deletes_leaves_no_empty_key():
    agg = counting(w.tumbling(10))
    state = State()
    state.apply(agg.process(state, [timed(1, "k", 1)]))
    state.apply(agg.process(state, [timed(2, "j", 30)]))
    assert state.partition(0).windows == {"j": {(30, 40): 1}}


def test_keys_made_by_key_by_are_strings():
    agg = Pipeline(time=value_time("t")).key_by(lambda v: v["v"]).window(w.tumbling(10))
    result = agg.aggregate(r.count()).process(State(), [timed(1, "k", 1, 42)])
    assert list(result.upserts) == [(0, "42", 0, 10)]


def test_a_failing_entry_is_named_and_the_entries_before_it_can_be_processed():
    agg = counting(w.tumbling(10), reducer=r.sum("v"))
    batch = [timed(1, "k", 1, 5), timed(2, "k", 2, "oops"), timed(3, "k", 3, 7)]
    with pytest.raises(EntryFailed) as failed:
        agg.process(State(), batch)
    assert (failed.value.index, failed.value.entry) == (1, batch[1])
    assert isinstance(failed.value.error, TypeError)
    state = commit(State(), agg.process(State(), batch[: failed.value.index]))
    dead = {(0, 2)}  # dead-lettered in the same transaction as the rest of the batch
    after = agg.process(state, batch[failed.value.index :], skip=dead)
    assert after.upserts == {(0, "k", 0, 10): 12} and after.positions[0].offset == 3
    alone = agg.process(state, batch[1:2], skip=dead)  # the last entry of its partition
    assert alone.positions[0] == Position(2, 1, 0) and alone.upserts == {}


def test_entries_already_applied_are_skipped():
    agg = counting(w.tumbling(10))
    state = commit(State(), agg.process(State(), [timed(i, "k", i) for i in range(1, 6)]))
    again = agg.process(state, [timed(i, "k", i) for i in range(3, 9)])  # 3..5 come again
    assert again.skipped == 3
    assert again.upserts == {(0, "k", 0, 10): 8}
    assert again.positions[0] == Position(8, 8, 0)


def test_a_crash_at_any_point_neither_double_counts_nor_misses():
    """The runtime's loop with crashes: the result of a batch is either committed with the
    state or lost whole, and the log delivers again from (or before) the committed offset."""
    agg = counting(w.session(40, grace=300), "final", r.combine(n=r.count(), total=r.sum("v")))
    log = _busy_batch()
    expected = agg.process(State(), log)
    expected_finals = expected.outputs + agg.advance(_applied(expected), {0: 10**15}).outputs
    rng = random.Random(11)
    stored, outputs, late, crashes, skipped = State().to_json(), [], [], 0, 0
    while True:
        state = State.from_json(stored)  # a restart: state from the database
        offset = state.partition(0).position.offset
        if offset == len(log):
            break
        start = max(0, offset - rng.randint(0, 5))  # redelivery may start before the commit
        result = agg.process(state, log[start : start + rng.randint(1, 40)])
        if rng.random() < 0.3:
            crashes += 1
            continue  # killed before the commit: nothing of it is kept
        skipped += result.skipped
        state.apply(result)
        stored = json.loads(json.dumps(state.to_json()))
        outputs += result.outputs
        late += result.late
    outputs += agg.advance(State.from_json(stored), {0: 10**15}).outputs
    assert sorted(outputs, key=_order) == sorted(expected_finals, key=_order)
    assert late == expected.late
    assert crashes > 5 and skipped > 5 and len(late) > 5 and len(outputs) > 20  # not vacuous


def _applied(result):
    state = State()
    state.apply(result)
    return state


def _order(output):
    return (output.key, output.start, output.end)
