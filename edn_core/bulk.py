"""Set-based writes with a handful of statements, written in SQL (the ORM's CASE expressions
cost milliseconds of Python per hundred rows). On PostgreSQL every statement takes its rows
as one typed array per column in binary format (no escaping of quotes in large JSON text),
read back with ``unnest``: the SQL text stays small and the same for any number of rows
(decision 0025). Elsewhere (SQLite 3.35+) the rows are spelled out, 200 to a statement.

- :func:`update_versioned`: save many aggregates of one model, each only if it still has the
  version it was loaded at; if any row changed meanwhile, raise ``ConcurrencyConflict``.
- :func:`advance_checkpoints`: ``INSERT … ON CONFLICT … DO UPDATE … WHERE older RETURNING`` —
  move latest-wins checkpoints forward and learn which moved, in one statement.
- :func:`insert_rows` / :func:`insert_values`, :func:`mark_sent`: rows in; rows sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connections, models

from edn_core.domain import ConcurrencyConflict

__all__ = ["advance_checkpoints", "insert_rows", "insert_values", "mark_sent", "update_versioned"]

CHUNK = 200  # rows per statement where they are spelled out (not on PostgreSQL)


def update_versioned(
    model: type[models.Model], alias: str, rows: list[tuple[Any, int, int, dict[str, Any]]]
) -> None:
    """Apply ``(pk, loaded version, new version, column values)`` rows; all or nothing."""
    if not rows:
        return
    connection = connections[alias]
    quote = connection.ops.quote_name
    meta = model._meta
    names = sorted(rows[0][3])
    version = meta.get_field("version")
    fields = [meta.pk, version, version, *(meta.get_field(name) for name in names)]
    columns = ["pk", "loaded", "new", *(f"c{n}" for n in range(len(names)))]
    assignments = ", ".join(
        [f"{quote(version.column)} = v.new"]
        + [f"{quote(meta.get_field(name).column)} = v.c{n}" for n, name in enumerate(names)]
    )
    table = quote(meta.db_table)
    values = [[pk, loaded, new, *(changes[n] for n in names)] for pk, loaded, new, changes in rows]
    for chunk in _chunks(connection, values):
        source, params = _rows(connection, fields, columns, chunk)
        sql = (
            f"UPDATE {table} SET {assignments} FROM {source} WHERE "
            f"{table}.{quote(meta.pk.column)} = v.pk AND {table}.{quote(version.column)} = v.loaded"
        )
        with _cursor(connection) as cursor:
            cursor.execute(sql, params)
            updated = cursor.rowcount
        if updated != len(chunk):
            raise ConcurrencyConflict(
                f"{len(chunk) - updated} of {len(chunk)} {meta.verbose_name_plural} "
                "changed concurrently.",
                expected=None,
                actual=None,
            )


def advance_checkpoints(
    model: type[models.Model], alias: str, consumer: str, newest: dict[str, int]
) -> set[str]:
    """Insert or move ``consumer``'s checkpoints to ``{aggregate id: sequence}`` where newer;
    return the aggregate ids whose checkpoint moved (their events are to be applied).

    Rows are written in aggregate id order, so two workers moving overlapping sets lock them
    in the same order and wait for each other instead of deadlocking."""
    if not newest:
        return set()
    connection = connections[alias]
    meta = model._meta
    table = connection.ops.quote_name(meta.db_table)
    fields = [meta.get_field(name) for name in ("consumer", "aggregate_id", "sequence")]
    moved: set[str] = set()
    values = [[consumer, aggregate, newest[aggregate]] for aggregate in sorted(newest)]
    for chunk in _chunks(connection, values):
        source, params = _rows(connection, fields, ["c", "a", "s"], chunk)
        sql = (
            f"INSERT INTO {table} (consumer, aggregate_id, sequence) SELECT c, a, s FROM {source} "
            "WHERE true ORDER BY a ON CONFLICT (consumer, aggregate_id) DO UPDATE SET sequence = "
            f"excluded.sequence WHERE {table}.sequence < excluded.sequence RETURNING aggregate_id"
        )
        with _cursor(connection) as cursor:
            cursor.execute(sql, params)
            moved.update(row[0] for row in cursor.fetchall())
    return moved


def insert_rows(model: type[models.Model], alias: str, objs: list[models.Model]) -> None:
    """Insert unsaved instances (their auto primary keys left to the database)."""
    if connections[alias].vendor != "postgresql":
        model._default_manager.using(alias).bulk_create(objs)
        return
    fields = [f for f in model._meta.concrete_fields if not f.db_returning]  # no auto keys
    rows = [[f.pre_save(obj, add=True) for f in fields] for obj in objs]
    insert_values(model, alias, [f.name for f in fields], rows)  # nothing when objs is empty


def insert_values(
    model: type[models.Model], alias: str, names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` of values for the fields ``names`` (others get the database default)."""
    if not rows:
        return
    connection = connections[alias]
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in names]
    columns = [f"c{n}" for n in range(len(fields))]
    into = f"{quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"
    for chunk in _chunks(connection, rows):
        source, params = _rows(connection, fields, columns, chunk)
        sql = f"INSERT INTO {into} SELECT {', '.join(columns)} FROM {source}"
        with _cursor(connection) as cursor:
            cursor.execute(sql, params)


def mark_sent(model: type[models.Model], alias: str, ids: list[int], when) -> None:
    """``UPDATE … SET sent_at = when WHERE id = ANY(ids)``: the relay's acknowledgement of a
    batch, its ids as one array parameter on PostgreSQL."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        model._default_manager.using(alias).filter(id__in=ids).update(sent_at=when)
        return
    table = connection.ops.quote_name(model._meta.db_table)
    with _cursor(connection) as cursor:
        cursor.execute(f"UPDATE {table} SET sent_at = %s WHERE id = ANY(%s)", [when, ids])


def _chunks(connection, rows: Sequence) -> list[Sequence]:
    if connection.vendor == "postgresql":
        return [rows]  # arrays: any number of rows in one statement
    return [rows[start : start + CHUNK] for start in range(0, len(rows), CHUNK)]


def _rows(
    connection, fields: list[models.Field], columns: list[str], rows: Sequence[Sequence[Any]]
) -> tuple[str, list[Any]]:
    """``rows`` as a relation ``v(columns…)`` for a FROM clause, and its parameters."""
    preps = [_preparer(field, connection) for field in fields]
    prepared = [[prep(value) for prep, value in zip(preps, row, strict=True)] for row in rows]
    if connection.vendor == "postgresql":
        casts = [field.cast_db_type(connection) for field in fields]
        # strings as text: a cast to varchar(n) cuts longer values short, the column refuses
        arrays = ", ".join(f"%b::{'text' if c.startswith('varchar') else c}[]" for c in casts)
        return f"unnest({arrays}) AS v({', '.join(columns)})", [
            list(c) for c in zip(*prepared, strict=True)
        ]
    first = "SELECT " + ", ".join(f"%s AS {column}" for column in columns)
    other = "SELECT " + ", ".join(["%s"] * len(columns))
    union = " UNION ALL ".join([first] + [other] * (len(rows) - 1))
    return f"({union}) AS v", [value for row in prepared for value in row]


# Django's field classes whose save preparation returns a value of this type unchanged.
_AS_IS = {
    models.CharField: str,
    models.TextField: str,
    **dict.fromkeys((models.IntegerField, models.BigIntegerField, models.SmallIntegerField), int),
    **dict.fromkeys((models.PositiveIntegerField, models.PositiveSmallIntegerField), int),
    models.BooleanField: bool,
    models.UUIDField: uuid.UUID,
}


def _preparer(field: models.Field, connection):
    kind = _AS_IS.get(type(field))
    if kind is None or connection.vendor != "postgresql":
        return lambda value: field.get_db_prep_save(value, connection)

    def prep(value):
        return value if type(value) is kind else field.get_db_prep_save(value, connection)

    return prep


@contextmanager
def _cursor(connection):
    """On PostgreSQL a server-side-binding cursor on the same connection (and transaction):
    the parameters travel apart from the SQL. It behaves as Django's own: it refuses to run
    in a transaction already marked for rollback, and its errors come out as Django's (an
    inbox duplicate is an ``IntegrityError``). Elsewhere the connection's own cursor."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg

    connection.validate_no_broken_transaction()
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor
