"""Read models written set-based: a projection's batch of rows in one statement."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from functools import partial
from operator import attrgetter
from typing import Any

from django.db import connections, models

from edn_core.bulk import _AS_IS, _cursor

__all__ = ["upsert_rows"]


def upsert_rows(
    model: type[models.Model],
    alias: str,
    objs: list[models.Model],
    unique: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert unsaved instances, or update ``update`` of the rows they collide with on the
    ``unique`` fields: one ``INSERT … SELECT FROM unnest … ON CONFLICT DO UPDATE`` on
    PostgreSQL (a read model's batch of rows), the ORM's ``bulk_create`` elsewhere.

    On PostgreSQL each column travels as one array: values Django would save unchanged (text,
    integers, booleans, UUIDs, finite decimals, aware datetimes) as they are, JSON as its text
    (cast to ``jsonb`` in the statement), anything else through the field's
    ``get_db_prep_save``; values are read as ``pre_save`` gives them (``auto_now`` applies)."""
    if not objs:
        return
    connection = connections[alias]
    if connection.vendor != "postgresql":
        model._default_manager.using(alias).bulk_create(
            objs, update_conflicts=True, unique_fields=unique, update_fields=update
        )
        return
    fields = [f for f in model._meta.concrete_fields if not f.db_returning]
    params = []
    for field in fields:
        read, prepare = _reader(field), _preparer(field, connection)
        params.append([prepare(value) for value in map(read, objs)])
    with _cursor(connection) as cursor:
        cursor.execute(_statement(connection, model, fields, unique, update), params)


def _statement(connection, model, fields, unique: Sequence[str], update: Sequence[str]) -> str:
    quote = connection.ops.quote_name
    column = {f.name: quote(f.column) for f in fields}
    arrays, values = [], []
    for n, field in enumerate(fields):
        cast = field.cast_db_type(connection)
        # strings as text: a cast to varchar(n) cuts longer values short, the column refuses;
        # JSON as text, parsed by the server
        arrays.append(f"%b::{'text' if cast.startswith('varchar') or _is_json(field) else cast}[]")
        values.append(f"c{n}::jsonb" if _is_json(field) else f"c{n}")
    names = ", ".join(f"c{n}" for n in range(len(fields)))
    return (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(column[f.name] for f in fields)}) "
        f"SELECT {', '.join(values)} FROM unnest({', '.join(arrays)}) AS v({names}) "
        f"ON CONFLICT ({', '.join(column[n] for n in unique)}) DO UPDATE SET "
        + ", ".join(f"{column[n]} = excluded.{column[n]}" for n in update)
    )


def _is_json(field: models.Field) -> bool:
    return isinstance(field, models.JSONField)


def _reader(field: models.Field) -> Callable[[models.Model], Any]:
    """``pre_save`` of an instance being added, as a plain attribute read where it is one."""
    auto = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    if type(field).pre_save in _PLAIN_PRE_SAVE and not auto:
        return attrgetter(field.attname)
    return partial(field.pre_save, add=True)


_PLAIN_PRE_SAVE = {  # an attribute read, unless auto_now / auto_now_add
    models.Field.pre_save,
    models.DateField.pre_save,
    models.DateTimeField.pre_save,
    models.TimeField.pre_save,
}


def _preparer(field: models.Field, connection) -> Callable[[Any], Any]:
    def slow(value):
        return field.get_db_prep_save(value, connection)

    if _is_json(field):
        dumps = partial(json.dumps, cls=field.encoder) if field.encoder else json.dumps

        def as_text(value):
            if value is None or hasattr(value, "as_sql"):  # NULL; an expression
                value = slow(value)
                return value if value is None else (value.dumps or json.dumps)(value.obj)
            return dumps(value)

        return as_text
    kind = _AS_IS.get(type(field))
    if kind is not None:
        return lambda value: value if type(value) is kind else slow(value)
    if type(field) is models.DecimalField:
        return lambda value: value if type(value) is Decimal and value.is_finite() else slow(value)
    if type(field) is models.DateTimeField:  # aware: no warning, no conversion
        return lambda value: (
            value if type(value) is datetime and value.utcoffset() is not None else slow(value)
        )
    return slow
