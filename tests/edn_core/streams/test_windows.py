"""Window definitions on event time: tumbling, hopping, sliding and session windows, their
boundaries, grace periods and late records, checked record by record and against a
brute-force recomputation. Pure unit tests: no database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edn_core.streams import reducers as r
from edn_core.streams import windows as w
from edn_core.streams.pipeline import Pipeline, State, value_time
from edn_core.streams.port import Entry

APPENDED = datetime(2026, 1, 1, tzinfo=UTC)
FAR = 10**9  # a stream time that closes every window of these tests


def entries(events, partition=0, first_offset=1):
    """Entries of ``(key, t)`` or ``(key, t, v)`` events, offsets counting up."""
    made = []
    for i, event in enumerate(events):
        key, t, v = (*event, 1) if len(event) == 2 else event
        value = {"t": t, "v": v}
        made.append(Entry("s", partition, first_offset + i, key, value, {}, APPENDED))
    return made


def aggregation(definition, reducer=None, emit="final"):
    return (
        Pipeline(time=value_time("t")).window(definition).aggregate(reducer or r.count(), emit=emit)
    )


class Run:
    """Feeds batches through an aggregation the way a runtime does: process, commit (here:
    a JSON round trip of the state), apply."""

    def __init__(self, agg):
        self.agg, self.state, self.offset = agg, State(), 0
        self.outputs, self.late = [], []

    def _commit(self, result):
        self.state.apply(result)
        self.state = State.from_json(json.loads(json.dumps(self.state.to_json())))
        self.outputs += result.outputs
        self.late += result.late
        return result

    def feed(self, *events):
        batch = entries(events, first_offset=self.offset + 1)
        self.offset += len(batch)
        return self._commit(self.agg.process(self.state, batch))

    def close_all(self):
        return self._commit(self.agg.advance(self.state, {0: FAR}))

    def finals(self):
        return {(o.key, o.start, o.end): o.value for o in self.outputs if o.kind == "final"}


def test_times_are_epoch_milliseconds():
    when = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    ms = w.to_ms(when)
    assert ms == int(datetime(2026, 3, 1, 10, 0, 0, 123000, tzinfo=UTC).timestamp()) * 1000 + 123
    assert w.from_ms(ms) == when.replace(microsecond=123000)
    assert w.to_ms(datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)) == -1
    with pytest.raises(ValueError, match="aware"):
        w.to_ms(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: w.tumbling(0), ValueError),
        (lambda: w.tumbling(timedelta(microseconds=1500)), ValueError),
        (lambda: w.tumbling(1.5), TypeError),
        (lambda: w.hopping(10, 11), ValueError),
        (lambda: w.hopping(10, 0), ValueError),
        (lambda: w.session(0), ValueError),
        (lambda: w.sliding(-1), ValueError),
        (lambda: w.tumbling(10, grace=-1), ValueError),
    ],
)
def test_invalid_definitions_are_refused(make, error):
    with pytest.raises(error):
        make()


def test_durations_are_timedeltas_or_milliseconds():
    assert w.tumbling(timedelta(minutes=1), grace=timedelta(seconds=5)).size == 60_000
    assert w.tumbling(timedelta(minutes=1), grace=timedelta(seconds=5)).grace == 5_000
    assert w.session(timedelta(minutes=30)).gap == 1_800_000


# tumbling


def test_tumbling_windows_are_half_open_an_event_at_the_end_opens_the_next():
    run = Run(aggregation(w.tumbling(10)))
    run.feed(("k", -1), ("k", 0), ("k", 9), ("k", 10))
    run.close_all()
    assert run.finals() == {("k", -10, 0): 1, ("k", 0, 10): 2, ("k", 10, 20): 1}
    assert run.late == []


def test_tumbling_window_closes_exactly_at_end_plus_grace():
    run = Run(aggregation(w.tumbling(10, grace=5)))
    run.feed(("k", 3))
    assert run.feed(("k", 14)).outputs == []  # stream time 14 < 10 + 5: still open
    result = run.feed(("k", 15))
    assert [(o.kind, o.start, o.end, o.value) for o in result.outputs] == [("final", 0, 10, 1)]
    assert (0, "k", 0, 10) in result.deletes


def test_without_grace_the_first_event_of_the_next_window_closes_the_previous():
    result = Run(aggregation(w.tumbling(10))).feed(("k", 2), ("k", 10))
    assert [(o.start, o.value) for o in result.outputs] == [(0, 1)]
    assert list(result.upserts) == [(0, "k", 10, 20)]


def test_late_event_within_grace_is_included_after_it_goes_to_the_side_output():
    run = Run(aggregation(w.tumbling(10, grace=5), r.sum("v")))
    run.feed(("k", 1, 10), ("k", 12, 1))
    run.feed(("k", 3, 100))  # out of order, stream time 12 < 10 + 5: included
    closing = run.feed(("k", 15, 1))
    assert [(o.start, o.value) for o in closing.outputs] == [(0, 110)]
    late = run.feed(("k", 4, 1000))  # the window [0, 10) closed at 15
    assert late.outputs == [] and late.upserts == {}
    [record] = late.late
    assert (record.key, record.time, record.value, record.windows) == (
        "k",
        4,
        {"t": 4, "v": 1000},
        ((0, 10),),
    )
    assert (record.offset, record.stream_time) == (5, 15)
    assert late.positions[0].late == 1
    run.close_all()
    assert run.finals() == {("k", 0, 10): 110, ("k", 10, 20): 2}  # never counted


# hopping


@pytest.mark.parametrize(("size", "advance"), [(10, 5), (10, 4), (10, 10), (9, 3), (7, 1)])
def test_hopping_assigns_every_window_containing_the_time(size, advance):
    definition = w.hopping(size, advance)
    for t in range(-25, 26):
        expected = [(s, s + size) for s in range(-40, 40) if s % advance == 0 and s <= t < s + size]
        assert definition.windows_of(t) == expected, t


def test_hopping_windows_overlap():
    run = Run(aggregation(w.hopping(10, 5)))
    run.feed(("k", 1), ("k", 6), ("k", 12))
    run.close_all()
    assert run.finals() == {
        ("k", -5, 5): 1,
        ("k", 0, 10): 2,
        ("k", 5, 15): 2,
        ("k", 10, 20): 1,
    }


def test_hopping_late_event_joins_its_open_windows_and_reports_the_closed_ones():
    run = Run(aggregation(w.hopping(10, 5)))
    run.feed(("k", 1), ("k", 12))  # stream time 12: [0, 10) closed, [5, 15) open
    result = run.feed(("k", 7))
    assert [lt.windows for lt in result.late] == [((0, 10),)]
    run.close_all()
    assert run.finals()[("k", 5, 15)] == 2 and run.finals()[("k", 0, 10)] == 1


# sessions


def test_session_gap_is_inclusive():
    run = Run(aggregation(w.session(10, grace=20)))  # b's 0 comes after a's 10
    run.feed(("a", 0), ("a", 10), ("b", 0), ("b", 11))
    run.close_all()
    assert run.finals() == {("a", 0, 10): 2, ("b", 0, 0): 1, ("b", 11, 11): 1}


def test_a_bridging_event_merges_two_sessions():
    run = Run(aggregation(w.session(10, grace=100), r.sum("v")))
    run.feed(("k", 0, 1), ("k", 20, 2))
    assert sorted(run.state.partition(0).windows["k"]) == [(0, 0), (20, 20)]
    result = run.feed(("k", 10, 4))
    assert result.deletes == [(0, "k", 0, 0), (0, "k", 20, 20)]
    assert result.upserts == {(0, "k", 0, 20): 7}
    run.close_all()
    assert run.finals() == {("k", 0, 20): 7}


def test_merged_sessions_aggregate_in_start_order_then_add_the_bridging_record():
    collect = r.custom(list, lambda acc, v: [*acc, v["v"]], merge=lambda a, b: a + b)
    run = Run(aggregation(w.session(10, grace=100), collect))
    run.feed(("k", 20, "c"), ("k", 0, "a"), ("k", 35, "d"))
    run.feed(("k", 10, "b"))
    run.close_all()
    assert run.finals() == {("k", 0, 20): ["a", "c", "b"], ("k", 35, 35): ["d"]}


def test_session_closes_after_end_plus_gap_plus_grace():
    run = Run(aggregation(w.session(10, grace=5)))
    run.feed(("k", 0), ("k", 5))
    assert run.feed(("x", 20)).outputs == []  # 20 = 5 + 10 + 5: an event at 20 could still join
    result = run.feed(("x", 21))
    assert [(o.key, o.start, o.end, o.value) for o in result.outputs] == [("k", 0, 5, 2)]


def test_session_late_event_goes_to_the_side_output():
    run = Run(aggregation(w.session(10, grace=5)))
    run.feed(("k", 100))
    assert run.feed(("k", 95)).late == []  # 95 + 5 = stream time: accepted, joins [100]
    result = run.feed(("k", 94))
    assert [(lt.time, lt.windows) for lt in result.late] == [(94, ((94, 94),))]
    run.close_all()
    assert run.finals() == {("k", 95, 100): 2}


# sliding


def test_sliding_windows_end_at_each_record_and_include_both_ends():
    run = Run(aggregation(w.sliding(10)))
    run.feed(("k", 0), ("k", 5), ("k", 10), ("k", 11), ("k", 11))
    run.close_all()
    assert run.finals() == {
        ("k", -10, 0): 1,
        ("k", -5, 5): 2,
        ("k", 0, 10): 3,
        ("k", 1, 11): 4,  # 5, 10, 11, 11: records at one time share a window
    }


def test_sliding_out_of_order_record_joins_later_windows_and_gets_its_own():
    run = Run(aggregation(w.sliding(10, grace=20), r.sum("v")))
    run.feed(("k", 0, 1), ("k", 10, 10))
    run.feed(("k", 5, 100))
    run.close_all()
    assert run.finals() == {("k", -10, 0): 1, ("k", -5, 5): 101, ("k", 0, 10): 111}


def test_sliding_late_record_still_counts_in_open_windows_of_later_records():
    run = Run(aggregation(w.sliding(10, grace=2)))
    run.feed(("k", 0), ("k", 11))
    result = run.feed(("k", 5))  # its own window [-5, 5] closed at 8; [1, 11] is open
    assert [(lt.time, lt.windows) for lt in result.late] == [(5, ((-5, 5),))]
    run.close_all()
    assert run.finals() == {("k", -10, 0): 1, ("k", 1, 11): 2}


def test_sliding_slices_are_dropped_once_no_window_can_include_them():
    run = Run(aggregation(w.sliding(10, grace=2)))
    run.feed(("k", 0))
    assert sorted(run.state.partition(0).windows["k"]) == [(-10, 0), (0, 0)]
    run.feed(("x", 12))  # [-10, 0] closes (12 > 0 + 2); the slice stays (12 <= 0 + 10 + 2)
    assert sorted(run.state.partition(0).windows["k"]) == [(0, 0)]
    run.feed(("x", 13))
    assert "k" not in run.state.partition(0).windows
    assert run.finals() == {("k", -10, 0): 1}  # slices are never results


def test_custom_reducer_without_merge_is_refused_for_merging_windows():
    plain = r.custom(int, lambda acc, v: acc + 1)
    aggregation(w.tumbling(10), plain)
    for definition in (w.session(10), w.sliding(10)):
        with pytest.raises(ValueError, match="merge"):
            aggregation(definition, plain)


# against a recomputation from all records (no record late: the grace covers the disorder)


def _reference(kind, events, size):
    found = {}
    for key in sorted({k for k, _t in events}):
        times = sorted(t for k, t in events if k == key)
        if kind == "tumbling":
            for t in times:
                start = t - t % size
                found[(key, start, start + size)] = found.get((key, start, start + size), 0) + 1
        elif kind == "hopping":
            for t in times:
                for s in range(t - size + 1, t + 1):
                    if s % 3 == 0:
                        found[(key, s, s + size)] = found.get((key, s, s + size), 0) + 1
        elif kind == "session":
            first = last = times[0]
            count = 0
            for t in times:
                if t - last > size:
                    found[(key, first, last)] = count
                    first, count = t, 0
                last, count = t, count + 1
            found[(key, first, last)] = count
        else:
            for t in set(times):
                found[(key, t - size, t)] = sum(1 for x in times if t - size <= x <= t)
    return found


DEFINITIONS = {
    "tumbling": lambda: w.tumbling(10, grace=1000),
    "hopping": lambda: w.hopping(10, 3, grace=1000),
    "session": lambda: w.session(10, grace=1000),
    "sliding": lambda: w.sliding(10, grace=1000),
}
events_strategy = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 120)), min_size=1, max_size=40
)


@pytest.mark.parametrize("kind", DEFINITIONS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=events_strategy, cuts=st.lists(st.integers(0, 40), max_size=5))
def test_final_results_equal_a_recomputation_however_batches_are_cut(kind, events, cuts):
    run = Run(aggregation(DEFINITIONS[kind]()))
    bounds = sorted({0, len(events), *(c for c in cuts if c < len(events))})
    for lo, hi in pairwise(bounds):
        run.feed(*events[lo:hi])
    run.close_all()
    assert run.late == []
    assert run.finals() == _reference(kind, events, 10)
    assert run.state.partition(0).windows == {}
