"""Insert a batch of new events, each only if its stream is at the expected version.

On PostgreSQL one statement checks the versions, computes the ordering key of decision 0068
(``max(tx, ordering key of the stream's previous event)``) and inserts every row; a version
that exists already is a unique violation (the caller's ``ConcurrencyConflict``). On SQLite
one writer holds the database at a time, so checking the versions then inserting is safe.
"""

from __future__ import annotations

import functools
import json

from django.db import connections, models

from edn_core.bulk import _cursor, _rows

__all__ = ["COLUMNS", "insert_events"]

COLUMNS = ("stream_id", "version", "type", "schema_version", "data", "metadata", "recorded_at")
Positions = dict[tuple[str, int], int]


def insert_events(
    model, alias: str, stream_type: str, stored: list, prev: list[int], notify=None
) -> Positions:
    """Insert ``stored`` events (each expecting its stream at ``prev``); return the position of
    each inserted ``(stream id, version)``. Fewer positions than events: a stream was not at
    its expected version, and the transaction is to be rolled back. ``notify``: a statement
    and its parameters to send along with the insert (PostgreSQL: the wake-up that the commit
    delivers)."""
    connection = connections[alias]
    if connection.vendor == "postgresql":
        return _insert_postgresql(model, connection, stream_type, stored, prev, notify)
    return _insert_portable(model, alias, stream_type, stored, prev)


def _insert_postgresql(model, connection, stream_type: str, stored, prev, notify) -> Positions:
    if len(stored) == 1:  # the common case: plain parameters (arrays cost more to send)
        (e,) = stored
        sql = _append_sql(model, connection.alias, one=True)
        params = [stream_type, e.stream_id, e.version, e.type, e.schema_version]
        params += [json.dumps(e.data), json.dumps(e.metadata), e.recorded_at, prev[0]]
    else:
        sql = _append_sql(model, connection.alias)
        params = [stream_type, *_columns(stored), prev]
    # the same text every time: prepared on the server after a few runs (planning the
    # statement cost more than running it)
    with _cursor(connection) as cursor:
        if notify is None:
            cursor.execute(sql, params)
            found = cursor.fetchall()
        else:  # BEGIN (if the transaction has not started), the insert and the wake-up: one trip
            driver = connection.connection
            with driver.pipeline():  # one Sync at the end: fetching inside would add a trip
                cursor.execute(sql, params)
                driver.execute(*notify)
            found = cursor.fetchall()
    return {(s, v): position for position, s, v in found}


def _columns(stored) -> list[list]:
    return [
        [e.stream_id for e in stored],
        [e.version for e in stored],
        [e.type for e in stored],
        [e.schema_version for e in stored],
        [json.dumps(e.data) for e in stored],
        [json.dumps(e.metadata) for e in stored],
        [e.recorded_at for e in stored],
    ]


@functools.cache
def _append_sql(model, alias: str, one: bool = False) -> str:
    connection = connections[alias]
    meta, quote = model._meta, connection.ops.quote_name
    text, big = models.TextField(), models.BigIntegerField()
    fields = [meta.get_field(c) for c in COLUMNS[:4]] + [text, text, meta.get_field(COLUMNS[6])]
    fields.append(big)
    source, _ = _rows(connection, fields, [*COLUMNS, "prev"], [])
    if one:
        casts = ", ".join(f"%s::{f.cast_db_type(connection)}" for f in fields)
        source = f"(VALUES ({casts})) AS v({', '.join(COLUMNS)}, prev)"
    table = quote(meta.db_table)
    return (
        f"INSERT INTO {table} (stream_type, {', '.join(COLUMNS)}, tx, ordering_key) "
        "SELECT %s, v.stream_id, v.version, v.type, v.schema_version, v.data::jsonb, "
        "v.metadata::jsonb, v.recorded_at, x.tx, GREATEST(x.tx, COALESCE(p.ordering_key, 0)) "
        f"FROM {source} CROSS JOIN (SELECT pg_current_xact_id()::text::bigint AS tx) x "
        f"LEFT JOIN {table} p ON p.stream_id = v.stream_id AND p.version = v.prev "
        "WHERE v.prev = 0 OR p.id IS NOT NULL "
        # positions follow versions within a stream (decision 0068, point 3)
        "ORDER BY v.stream_id, v.version RETURNING id, stream_id, version"
    )


def _insert_portable(model, alias: str, stream_type: str, stored, prev) -> Positions:
    rows = model._default_manager.using(alias)
    expected = {(e.stream_id, p) for e, p in zip(stored, prev, strict=True) if p}
    if expected:
        current = rows.filter(stream_id__in={s for s, _ in expected}).values("stream_id")
        found = dict(current.annotate(v=models.Max("version")).values_list("stream_id", "v"))
        if any(found.get(s, 0) != p for s, p in expected):
            return {}
    created = rows.bulk_create(
        model(stream_type=stream_type, **{c: getattr(e, c) for c in COLUMNS}) for e in stored
    )
    return {(r.stream_id, r.version): r.id for r in created}
