"""Read models written set-based: a projection's batch of rows in one statement."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, models

from edn_core.bulk import _cursor, _rows

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
    PostgreSQL (a read model's batch of rows), the ORM's ``bulk_create`` elsewhere."""
    if not objs:
        return
    connection = connections[alias]
    if connection.vendor != "postgresql":
        model._default_manager.using(alias).bulk_create(
            objs, update_conflicts=True, unique_fields=unique, update_fields=update
        )
        return
    quote = connection.ops.quote_name
    fields = [f for f in model._meta.concrete_fields if not f.db_returning]
    columns = [f"c{n}" for n in range(len(fields))]
    rows = [[f.pre_save(obj, add=True) for f in fields] for obj in objs]
    source, params = _rows(connection, fields, columns, rows)
    table = quote(model._meta.db_table)
    column = {f.name: quote(f.column) for f in fields}
    sql = (
        f"INSERT INTO {table} ({', '.join(column[f.name] for f in fields)}) "
        f"SELECT {', '.join(columns)} FROM {source} "
        f"ON CONFLICT ({', '.join(column[n] for n in unique)}) DO UPDATE SET "
        + ", ".join(f"{column[n]} = excluded.{column[n]}" for n in update)
    )
    with _cursor(connection) as cursor:
        cursor.execute(sql, params)
