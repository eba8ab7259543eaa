"""Reducers: count, sum, min, max (also on Decimal), custom and combined ones; their stored
form is JSON and survives a round trip. Pure unit tests: no database."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import reduce

import pytest

from edn_core.streams import reducers as r


def fold(reducer, values, acc=None):
    return reduce(reducer.add, values, reducer.init() if acc is None else acc)


def stored(reducer, acc):
    """The accumulator as the database gives it back."""
    return reducer.load(json.loads(json.dumps(reducer.dump(acc))))


def test_count_counts_records_whatever_their_value():
    count = r.count()
    acc = fold(count, [{"a": 1}, None, "x"])
    assert acc == 3 and count.result(acc) == 3
    assert count.merge(acc, fold(count, [1, 2])) == 5
    assert count.result(count.init()) == 0


@pytest.mark.parametrize(
    ("of", "values", "total"),
    [
        (None, [1, 2, 3], 6),
        ("units", [{"units": 2}, {"units": 5}], 7),
        (lambda v: v["line"]["qty"], [{"line": {"qty": 4}}, {"line": {"qty": 1}}], 5),
        (None, [0.5, 0.25], 0.75),
    ],
)
def test_sum_reads_the_value_a_field_or_a_function(of, values, total):
    reducer = r.sum(of)
    acc = fold(reducer, values)
    assert acc == total and reducer.result(acc) == total and stored(reducer, acc) == total


def test_decimal_sum_is_exact_and_stored_as_a_string():
    revenue = r.sum("total", decimal=True)
    acc = fold(revenue, [{"total": "0.10"}, {"total": "0.20"}, {"total": 3}, {"total": 0.1}])
    assert acc == Decimal("3.40")
    assert revenue.dump(acc) == "3.40" and revenue.result(acc) == "3.40"
    assert stored(revenue, acc) == Decimal("3.40")
    assert revenue.merge(acc, fold(revenue, [{"total": "1.05"}])) == Decimal("4.45")
    assert revenue.result(revenue.init()) == "0"


def test_a_float_becomes_the_decimal_it_prints_as_not_its_binary_expansion():
    assert fold(r.sum(decimal=True), [0.1, 0.2]) == Decimal("0.3")
    assert fold(r.max(decimal=True), [0.1]) == Decimal("0.1")


@pytest.mark.parametrize(
    ("reducer", "values", "expected"),
    [
        (r.min(), [5, 2, 9], 2),
        (r.max(), [5, 2, 9], 9),
        (r.min("p"), [{"p": 3}, {"p": 1}], 1),
        (r.max(lambda v: len(v)), ["ab", "abcd", "a"], 4),
        (r.min(decimal=True), ["10.50", "9.99", "12"], "9.99"),
        (r.max(decimal=True), ["10.50", "9.99", "12"], "12"),
    ],
)
def test_min_and_max(reducer, values, expected):
    acc = fold(reducer, values)
    assert reducer.result(acc) == expected
    assert reducer.result(stored(reducer, acc)) == expected


def test_min_and_max_of_nothing_are_none_and_merge_ignores_it():
    for reducer in (r.min(), r.max(), r.min(decimal=True), r.max(decimal=True)):
        empty = reducer.init()
        assert reducer.result(empty) is None and stored(reducer, empty) is None
        assert reducer.merge(empty, fold(reducer, [7])) == 7
        assert reducer.merge(fold(reducer, [7]), empty) == 7
    assert r.min().merge(3, 8) == 3 and r.max().merge(3, 8) == 8


def test_custom_reducer_with_merge_and_result():
    average = r.custom(
        lambda: {"n": 0, "total": 0},
        lambda acc, v: {"n": acc["n"] + 1, "total": acc["total"] + v},
        merge=lambda a, b: {"n": a["n"] + b["n"], "total": a["total"] + b["total"]},
        result=lambda acc: acc["total"] / acc["n"] if acc["n"] else None,
        name="average",
    )
    acc = fold(average, [2, 4])
    assert average.result(acc) == 3.0
    assert average.result(average.merge(acc, fold(average, [9]))) == 5.0
    assert average.result(stored(average, acc)) == 3.0
    assert average.dump(acc) == {"n": 2, "total": 6}  # the JSON value itself
    assert repr(average) == "<Reducer average>"


def test_custom_accumulator_is_copied_when_loaded_so_in_place_changes_stay_local():
    def append(acc, value):
        acc.append(value)  # changes acc in place
        return acc

    collect = r.custom(list, append)
    kept = ["a"]
    acc = collect.add(collect.load(kept), "b")
    assert acc == ["a", "b"] and kept == ["a"]


def test_combined_reducers_by_name():
    stats = r.combine(orders=r.count(), units=r.sum("units"), revenue=r.sum("total", decimal=True))
    acc = fold(stats, [{"units": 2, "total": "10.00"}, {"units": 1, "total": "2.50"}])
    dumped = stats.dump(acc)
    assert dumped == {"orders": 2, "units": 3, "revenue": "12.50"}
    assert json.loads(json.dumps(dumped)) == dumped
    assert stats.result(stored(stats, acc)) == {"orders": 2, "units": 3, "revenue": "12.50"}
    merged = stats.merge(acc, fold(stats, [{"units": 4, "total": "1"}]))
    assert stats.result(merged) == {"orders": 3, "units": 7, "revenue": "13.50"}


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_combined_reducers_of_any_number(size):
    reducers = {f"r{i}": r.sum(lambda v, i=i: v * i) for i in range(size)}
    combined = r.combine(reducers)
    assert combined.result(fold(combined, [1, 2])) == {f"r{i}": 3 * i for i in range(size)}


def test_combined_reducers_merge_only_if_all_do():
    assert r.combine(n=r.count(), top=r.max()).merge is not None
    assert r.combine(n=r.count(), mine=r.custom(int, lambda acc, v: acc + 1)).merge is None


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="of must be"):
        r.sum(3)
    with pytest.raises(ValueError, match="at least one"):
        r.combine()
