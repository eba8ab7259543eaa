"""Hot reads by key in SQL, with the ORM's own conversions.

A QuerySet compiles its SQL on every evaluation: about 0.25 ms of Python for a one-line
``filter(...).values_list(...)``, most of the cost of a small indexed read. The reads every
delivery makes (an event store's streams and snapshots, the keys of personal data) go through
:func:`select_in` instead: the statement's text is built once per shape and number of keys
(on PostgreSQL one text for any number: ``= ANY(%s)``), and each value read goes through the
converters the ORM would apply (JSON, datetimes on SQLite, binary), so callers get the same
Python values as from ``values_list``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from django.db import connections, models
from django.db.models import QuerySet

__all__ = ["compiled_rows", "select_in"]

# (field, operator, value): the conditions besides the key's, e.g. ("version", ">", 3)
Condition = tuple[str, str, Any]
OPERATORS = frozenset({"=", ">", ">=", "<", "<="})
# (name, backend, alias, number of values) -> the SQL and parameters compiled_rows runs
_COMPILED: dict[tuple[str, str, str, int], tuple[str, tuple]] = {}


def select_in(
    model: type[models.Model],
    alias: str,
    columns: Sequence[str],
    key: str,
    keys: Sequence[Any],
    *,
    where: Sequence[Condition] = (),
    order_by: Sequence[str] = (),
) -> list[tuple]:
    """``SELECT columns FROM model WHERE key IN keys AND where… ORDER BY order_by``: the rows
    as tuples of Python values ([] for no keys)."""
    if not keys:
        return []
    connection = connections[alias]
    bulk = connection.vendor == "postgresql"
    sql, fields, selected = _statement(
        model,
        connection.vendor,
        tuple(columns),
        key,
        tuple((name, op) for name, op, _ in where),
        tuple(order_by),
        None if bulk else len(keys),
    )
    prep = fields[0].get_db_prep_value
    key_values = [prep(k, connection, prepared=False) for k in keys]
    params: list[Any] = [key_values] if bulk else key_values
    params += [
        field.get_db_prep_value(value, connection, prepared=False)
        for field, (_, _, value) in zip(fields[1:], where, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    converters = [_converter(column, connection) for column in selected]
    if not any(converters):
        return [tuple(row) for row in rows]
    return [
        tuple(
            value if conv is None else conv(value)
            for conv, value in zip(converters, row, strict=True)
        )
        for row in rows
    ]


@lru_cache(maxsize=256)
def _statement(model, vendor, columns, key, conditions, order_by, count):
    """The SQL text for a shape (``count``: keys spelled out; None: one array parameter),
    the fields of its parameters (the key's first) and the columns it selects."""
    meta = model._meta
    key_field = meta.get_field(key)
    in_keys = "= ANY(%s)" if count is None else f"IN ({', '.join(['%s'] * count)})"
    where = [f"{_quote(key_field.column)} {in_keys}"]
    fields = [key_field]
    for name, op in conditions:
        if op not in OPERATORS:
            raise ValueError(f"operator {op!r} is not one of {sorted(OPERATORS)}")
        field = meta.get_field(name)
        where.append(f"{_quote(field.column)} {op} %s")
        fields.append(field)
    selected = [meta.get_field(name) for name in columns]
    sql = (
        f"SELECT {', '.join(_quote(f.column) for f in selected)} FROM {_quote(meta.db_table)} "
        f"WHERE {' AND '.join(where)}"
    )
    if order_by:
        sql += " ORDER BY " + ", ".join(_quote(meta.get_field(n).column) for n in order_by)
    return sql, tuple(fields), tuple(selected)


def compiled_rows(
    name: str, alias: str, build: Callable[[list[str]], QuerySet], values: Sequence[str]
) -> list[tuple]:
    """The rows of the QuerySet ``build(values)`` makes (a ``values_list`` of columns the
    database returns as Python values: text, numbers), its SQL compiled by the ORM once per
    ``name``, backend and number of values, then run with new values. ``values`` are text
    (a query over an expression such as a JSON key's text); ``name`` names the query's shape.
    """
    if not values:
        return []
    connection = connections[alias]
    shape = (name, connection.vendor, alias, len(values))
    if shape not in _COMPILED:
        marks = [f"\x1fedn:{n}\x1f" for n in range(len(values))]
        sql, params = build(marks).query.sql_with_params()
        if sorted(p for p in params if p in marks) != sorted(marks):
            raise ValueError(f"{name}: each value must reach the SQL once, as a parameter")
        _COMPILED[shape] = sql, tuple(params)
    sql, template = _COMPILED[shape]
    marks = {f"\x1fedn:{n}\x1f": str(value) for n, value in enumerate(values)}
    params = [marks.get(p, p) if isinstance(p, str) else p for p in template]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]


def _quote(name: str) -> str:
    """A quoted identifier, the same on PostgreSQL and SQLite."""
    return '"' + name.replace('"', '""') + '"'


def _converter(field: models.Field, connection) -> Callable[[Any], Any] | None:
    """What the ORM does to a value of ``field`` read from ``connection`` (backend converters,
    then the field's own), as one function; None when it does nothing. Kept per connection
    (each thread has its own)."""
    kept = connection.__dict__.setdefault("_edn_sql_reads_converters", {})
    if field not in kept:
        kept[field] = _make_converter(field, connection)
    return kept[field]


def _make_converter(field: models.Field, connection) -> Callable[[Any], Any] | None:
    column = field.get_col(field.model._meta.db_table)
    steps = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
    if not steps:
        return None

    def convert(value: Any) -> Any:
        for step in steps:
            value = step(value, column, connection)
        return value

    return convert
