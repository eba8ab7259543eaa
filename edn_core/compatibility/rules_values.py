"""Compatibility rules for scalar values: type, enum/const, number bounds, string constraints.

:class:`ValueRules` is a mixin for :class:`edn_core.compatibility.rules._Comparison`; it also holds
``counts``, the min/max rule shared by string lengths, array items and object properties.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

from .schema_facts import accepts_type, declared_types, enum_values, json_equal, produced_values


class _Bound(NamedTuple):
    keyword: str
    value: float
    exclusive: bool
    key: tuple[float, bool]  # larger = tighter, for lower and (negated) upper bounds alike


class ValueRules:
    # Provided by the comparison this is mixed into (annotations only, no attributes).
    r: str
    w: str
    add: Callable[[str, str, str], None]

    def types(self, reader: dict, writer_types: set[str], path: str) -> None:
        if "type" not in reader:
            return
        lost = sorted(kind for kind in writer_types if not accepts_type(reader, kind))
        if lost:
            self.add(
                f"{path}/type",
                "type-narrowed",
                f"the {self.w} schema allows {', '.join(lost)} but the {self.r} schema only "
                f"accepts {', '.join(sorted(declared_types(reader)))}",
            )

    def enum(self, reader: dict, writer: dict, path: str) -> None:
        allowed = enum_values(reader)
        if allowed is None:
            return
        at = f"{path}/{'const' if 'const' in reader else 'enum'}"
        produced = produced_values(writer)
        if produced is None:
            self.add(
                at,
                "enum-narrowed",
                f"the {self.r} schema only accepts {_show(allowed)} but "
                f"the {self.w} schema has no enum or const",
            )
            return
        lost = [value for value in produced if not any(json_equal(value, a) for a in allowed)]
        if lost:
            self.add(
                at,
                "enum-narrowed",
                f"the {self.w} schema allows {_show(lost)}, which the {self.r} schema rejects",
            )

    def numbers(self, reader: dict, writer: dict, path: str) -> None:
        for keywords, sign in (
            (("minimum", "exclusiveMinimum"), 1),
            (("maximum", "exclusiveMaximum"), -1),
        ):
            mine, theirs = _bound(reader, keywords, sign), _bound(writer, keywords, sign)
            if mine and (theirs is None or theirs.key < mine.key):
                self.add(
                    f"{path}/{mine.keyword}",
                    "bounds-tightened",
                    f"the {self.r} schema requires {_op(mine, sign)} but the {self.w} schema "
                    f"allows {_op(theirs, sign) if theirs else 'any number'}",
                )
        step, their_step = reader.get("multipleOf"), writer.get("multipleOf")
        if step is not None and (their_step is None or _decimal(their_step) % _decimal(step)):
            self.add(
                f"{path}/multipleOf",
                "bounds-tightened",
                f"the {self.r} schema requires multiples of {step} but the {self.w} schema "
                f"allows {f'multiples of {their_step}' if their_step else 'any number'}",
            )

    def strings(self, reader: dict, writer: dict, path: str) -> None:
        self.counts(reader, writer, path, ("minLength", "maxLength"), "characters")
        for keyword, rule in (("pattern", "pattern-changed"), ("format", "format-changed")):
            mine, theirs = reader.get(keyword), writer.get(keyword)
            if mine is not None and mine != theirs:
                self.add(
                    f"{path}/{keyword}",
                    rule,
                    f"the {self.r} schema requires {keyword} {mine!r} but the {self.w} schema "
                    f"{f'has {keyword} {theirs!r}' if theirs else f'has no {keyword}'}",
                )

    def counts(
        self, reader: dict, writer: dict, path: str, keywords: tuple[str, str], unit: str
    ) -> None:
        low_keyword, high_keyword = keywords
        low, their_low = reader.get(low_keyword, 0), writer.get(low_keyword, 0)
        if low > their_low:
            self.add(
                f"{path}/{low_keyword}",
                "bounds-tightened",
                f"the {self.r} schema requires at least {low} {unit} but the {self.w} schema "
                f"allows {their_low}",
            )
        high, their_high = reader.get(high_keyword), writer.get(high_keyword)
        if high is not None and (their_high is None or high < their_high):
            self.add(
                f"{path}/{high_keyword}",
                "bounds-tightened",
                f"the {self.r} schema allows at most {high} {unit} but the {self.w} schema "
                f"allows {their_high if their_high is not None else 'any number of'} {unit}",
            )


def _bound(schema: dict, keywords: tuple[str, str], sign: int) -> _Bound | None:
    bounds = [
        _Bound(keyword, value, exclusive, (sign * value, exclusive))
        for keyword, exclusive in zip(keywords, (False, True), strict=True)
        if isinstance(value := schema.get(keyword), int | float) and not isinstance(value, bool)
    ]
    return max(bounds, key=lambda bound: bound.key, default=None)


def _op(bound: _Bound, sign: int) -> str:
    return f"{'>' if sign > 0 else '<'}{'' if bound.exclusive else '='} {bound.value}"


def _decimal(number: float) -> Decimal:
    return Decimal(str(number))


def _show(values: list[Any]) -> str:
    return ", ".join(json.dumps(value) for value in values) or "nothing"
