"""Reducers: how the records of a window are aggregated (pure Python: no framework).

A :class:`Reducer` is a set of functions over an *accumulator*:

- ``init() -> acc``: the accumulator of an empty window;
- ``add(acc, value) -> acc``: the accumulator with one more record (a new value: never
  change ``acc`` in place, the processor's input state must stay as it was);
- ``merge(a, b) -> acc``: two windows' accumulators as one (sessions and sliding windows
  need it; ``a`` holds the earlier records);
- ``dump(acc) -> JSON`` and ``load(JSON) -> acc``: the stored form (a JSON value);
- ``result(acc) -> JSON``: the value of an output record.

``count()``, ``sum()``, ``min()``, ``max()`` cover the usual cases; ``of`` picks what they
read from a record's value: ``None`` (the value itself), a field name, or a function.
``decimal=True`` computes with :class:`~decimal.Decimal` (money) and stores and outputs it as
a string ("12.50"): exact, unlike floats. ``custom()`` wraps your own functions (its
accumulator must be a JSON value). ``combine(orders=count(), units=sum("quantity"))`` runs
several under names; its accumulator is stored and output as a JSON object by name.
"""

from __future__ import annotations

import builtins
import copy
import operator
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

__all__ = ["Reducer", "combine", "count", "custom", "max", "min", "sum"]

Of = str | Callable[[Any], Any] | None


def _same(acc: Any) -> Any:
    return acc


class Reducer:
    """The functions of one aggregation (see the module doc)."""

    __slots__ = ("add", "dump", "init", "load", "merge", "name", "result")

    def __init__(
        self,
        name: str,
        init: Callable[[], Any],
        add: Callable[[Any, Any], Any],
        merge: Callable[[Any, Any], Any] | None = None,
        *,
        dump: Callable[[Any], Any] = _same,
        load: Callable[[Any], Any] = _same,
        result: Callable[[Any], Any] | None = None,
    ) -> None:
        self.name, self.init, self.add, self.merge = name, init, add, merge
        self.dump, self.load = dump, load
        self.result = dump if result is None else result

    def __repr__(self) -> str:
        return f"<Reducer {self.name}>"


def _getter(of: Of) -> Callable[[Any], Any]:
    if of is None:
        return _same
    if isinstance(of, str):
        return operator.itemgetter(of)
    if callable(of):
        return of
    raise TypeError(f"of must be None, a field name or a function: {of!r}")


def _decimal(value: Any) -> Decimal:
    if isinstance(value, float):  # its shortest repr, not its binary expansion
        return Decimal(repr(value))
    return Decimal(value)


def _decimal_or_none(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def count() -> Reducer:
    """How many records."""
    return Reducer("count", int, lambda acc, _value: acc + 1, operator.add)


def sum(of: Of = None, *, decimal: bool = False) -> Reducer:
    """The sum of ``of`` over the records (0 for none)."""
    get = _getter(of)
    if decimal:
        return Reducer(
            "sum",
            Decimal,
            lambda acc, value: acc + _decimal(get(value)),
            operator.add,
            dump=str,
            load=Decimal,
        )
    return Reducer("sum", int, lambda acc, value: acc + get(value), operator.add)


def _extreme(name: str, pick: Callable[[Any, Any], Any], of: Of, decimal: bool) -> Reducer:
    get = _getter(of)
    convert = _decimal if decimal else _same

    def add(acc: Any, value: Any) -> Any:
        value = convert(get(value))
        return value if acc is None else pick(acc, value)

    def merge(a: Any, b: Any) -> Any:
        return b if a is None else a if b is None else pick(a, b)

    if decimal:
        return Reducer(name, lambda: None, add, merge, dump=_str_or_none, load=_decimal_or_none)
    return Reducer(name, lambda: None, add, merge)


def min(of: Of = None, *, decimal: bool = False) -> Reducer:
    """The smallest ``of`` of the records (``None`` for none)."""
    return _extreme("min", builtins.min, of, decimal)


def max(of: Of = None, *, decimal: bool = False) -> Reducer:
    """The largest ``of`` of the records (``None`` for none)."""
    return _extreme("max", builtins.max, of, decimal)


def custom(
    init: Callable[[], Any],
    add: Callable[[Any, Any], Any],
    *,
    merge: Callable[[Any, Any], Any] | None = None,
    result: Callable[[Any], Any] | None = None,
    name: str = "custom",
) -> Reducer:
    """Your own aggregation: ``init()`` and ``add(acc, value)`` (and ``merge(a, b)`` for
    sessions and sliding windows) over an accumulator that is a JSON value (dicts, lists,
    strings, numbers, booleans, None); ``result(acc)`` shapes the output (default: ``acc``).
    Stored accumulators are copied when loaded, so ``add`` may even change ``acc`` in place."""
    return Reducer(name, init, add, merge, load=copy.deepcopy, result=result)


def combine(named: Mapping[str, Reducer] | None = None, /, **reducers: Reducer) -> Reducer:
    """Several reducers under names: accumulators and results are JSON objects by name."""
    everything = {**(named or {}), **reducers}
    if not everything:
        raise ValueError("combine needs at least one reducer")
    names = tuple(everything)
    parts = tuple(everything.values())
    pairs = tuple(zip(names, parts, strict=True))
    merges = tuple(r.merge for r in parts)

    def merge(a: list, b: list) -> list:
        return [m(x, y) for m, x, y in zip(merges, a, b, strict=True)]

    return Reducer(
        "combine(" + ", ".join(names) + ")",
        lambda: [r.init() for r in parts],
        _add_all(tuple(r.add for r in parts)),
        merge if None not in merges else None,
        dump=lambda acc: {n: r.dump(a) for (n, r), a in zip(pairs, acc, strict=True)},
        load=lambda stored: [r.load(stored[n]) for n, r in pairs],
        result=lambda acc: {n: r.result(a) for (n, r), a in zip(pairs, acc, strict=True)},
    )


def _add_all(adds: tuple[Callable[[Any, Any], Any], ...]) -> Callable[[list, Any], list]:
    if len(adds) == 2:  # the usual shapes, unrolled: the per-record hot path
        add0, add1 = adds
        return lambda acc, value: [add0(acc[0], value), add1(acc[1], value)]
    if len(adds) == 3:
        add0, add1, add2 = adds
        return lambda acc, value: [add0(acc[0], value), add1(acc[1], value), add2(acc[2], value)]
    return lambda acc, value: [add(a, value) for add, a in zip(adds, acc, strict=True)]
