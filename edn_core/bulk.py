"""Set-based writes with a handful of statements, written in SQL (the ORM's CASE expressions
cost milliseconds of Python per hundred rows).

- :func:`update_versioned`: save many aggregates of one model, each only if it still has the
  version it was loaded at: ``UPDATE t SET … FROM (SELECT … UNION ALL …) AS v WHERE t.id = v.pk
  AND t.version = v.loaded`` per chunk; if any row changed meanwhile, raise
  :class:`~edn_core.domain.ConcurrencyConflict` (the caller's transaction rolls back).
- :func:`advance_checkpoints`: ``INSERT … ON CONFLICT … DO UPDATE … WHERE older RETURNING`` —
  move latest-wins checkpoints forward and learn which moved, in one statement.

Both run on PostgreSQL and on SQLite 3.35+.
"""

from __future__ import annotations

from typing import Any

from django.db import connections, models

from edn_core.domain import ConcurrencyConflict

__all__ = ["advance_checkpoints", "insert_rows", "mark_sent", "update_versioned"]

CHUNK = 200


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
    fields = [meta.pk, meta.get_field("version"), meta.get_field("version")]
    fields += [meta.get_field(name) for name in names]
    columns = ["pk", "loaded", "new", *(f"c{n}" for n in range(len(names)))]
    casts = [_cast(connection, field) for field in fields]
    first = "SELECT " + ", ".join(f"{c} AS {n}" for c, n in zip(casts, columns, strict=True))
    other = "SELECT " + ", ".join(casts)
    assignments = ", ".join(
        [f"{quote('version')} = v.new"]
        + [f"{quote(meta.get_field(name).column)} = v.c{n}" for n, name in enumerate(names)]
    )
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        params: list[Any] = []
        for pk_value, loaded, new, values in chunk:
            raw = [pk_value, loaded, new, *(values[name] for name in names)]
            params += [f.get_db_prep_save(v, connection) for f, v in zip(fields, raw, strict=True)]
        rows_sql = " UNION ALL ".join([first] + [other] * (len(chunk) - 1))
        sql = (
            f"UPDATE {table} SET {assignments} FROM ({rows_sql}) AS v "
            f"WHERE {table}.{pk} = v.pk AND {table}.{quote('version')} = v.loaded"
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
    return the aggregate ids whose checkpoint moved (their events are to be applied)."""
    if not newest:
        return set()
    connection = connections[alias]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    moved: set[str] = set()
    items = list(newest.items())
    for start in range(0, len(items), CHUNK):
        chunk = items[start : start + CHUNK]
        values = ", ".join(["(%s, %s, %s)"] * len(chunk))
        sql = (
            f"INSERT INTO {table} (consumer, aggregate_id, sequence) VALUES {values} "
            "ON CONFLICT (consumer, aggregate_id) DO UPDATE SET sequence = excluded.sequence "
            f"WHERE {table}.sequence < excluded.sequence RETURNING aggregate_id"
        )
        params = [value for aggregate, seq in chunk for value in (consumer, aggregate, seq)]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            moved.update(row[0] for row in cursor.fetchall())
    return moved


def insert_rows(model: type[models.Model], alias: str, objs: list[models.Model]) -> None:
    """Insert unsaved instances (their auto primary keys left to the database) with one
    statement per chunk; on PostgreSQL through a server-side-binding cursor."""
    objs = list(objs)
    if not objs:
        return
    connection = connections[alias]
    if connection.vendor != "postgresql":
        model._default_manager.using(alias).bulk_create(objs)
        return
    quote = connection.ops.quote_name
    fields = [f for f in model._meta.concrete_fields if not f.db_returning]  # no auto keys
    columns = ", ".join(quote(f.column) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    for start in range(0, len(objs), CHUNK):
        chunk = objs[start : start + CHUNK]
        params = [
            f.get_db_prep_save(f.pre_save(obj, add=True), connection)
            for obj in chunk
            for f in fields
        ]
        sql = (
            f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "
            f"VALUES {', '.join([row] * len(chunk))}"
        )
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


def _cursor(connection):
    """On PostgreSQL a server-side-binding cursor on the same connection (and transaction):
    the parameters travel apart from the SQL, so large JSON values are not escaped into it
    in Python. Elsewhere the connection's own cursor."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    import psycopg

    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def _cast(connection, field: models.Field) -> str:
    if connection.vendor != "postgresql":
        return "%s"
    return f"%s::{field.cast_db_type(connection)}"
