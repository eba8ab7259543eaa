"""A projection's next batch: the store's events after its checkpoint and below the read bound
of decision 0068, in ``(ordering key, position)`` order.

On PostgreSQL the batch is one statement on the driver's cursor in the batch's transaction
(server-side binding, prepared after a few runs like the platform's other set-based
statements): its columns come back as tuples in binary (the driver's own loaders, none of
Django's per-row converters), the JSON as text parsed once here. The statement walks the
``(ordering_key, id)`` index from the checkpoint: with sorting disabled for it alone, it never
becomes a scan and a sort of every row after the checkpoint -- which is what PostgreSQL plans
for a table without statistics (never analysed: autovacuum off, or not yet after a bulk
import), tens of milliseconds per batch and growing with the table. Elsewhere (SQLite: one
writer at a time, keys 0) the ORM reads ``position > checkpoint``.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.db import connections, models

from edn_core.bulk import _cursor
from edn_core.eventsourcing.appending import COLUMNS
from edn_core.eventsourcing.bound import read_bound
from edn_core.eventsourcing.codec import StoredEvent

__all__ = ["events_after", "next_batch", "read_events", "stored_rows"]

Read = list[tuple[int, StoredEvent]]
CHUNK = 500  # rows turned into events at a time


def stored_rows(projection) -> models.QuerySet:
    """The store's rows of the projection's streams (its ``stream_type``)."""
    store = projection.store
    rows = store.events._default_manager.using(store.alias)
    return rows.filter(stream_type=store.stream_type)


def events_after(rows: models.QuerySet, key: int, position: int) -> models.QuerySet:
    """``rows`` after the checkpoint ``(key, position)``, in store order."""
    if connections[rows.db].vendor != "postgresql":  # keys are 0: position order
        return rows.filter(id__gt=position).order_by("id")
    rows = rows.extra(where=["(ordering_key, id) > (%s, %s)"], params=[key, position])
    return rows.order_by("ordering_key", "id")


def read_events(rows: models.QuerySet) -> Read:
    """``(ordering key, event)`` of ``rows`` (through the ORM)."""
    found = []
    for key, position, stream_id, version, *rest in rows.values_list(
        "ordering_key", "id", *COLUMNS
    ):
        found.append((key, StoredEvent(stream_id, version, *rest[:4], position, rest[4])))
    return found


def next_batch(projection, key: int, position: int) -> tuple[list[StoredEvent], int]:
    """The next ``projection.batch_size`` events after the checkpoint ``(key, position)``
    that no running transaction can still precede (read in the caller's transaction), and
    the ordering key of the last one (``key`` when there is none)."""
    store = projection.store
    connection = connections[store.alias]
    if connection.vendor != "postgresql" or not settings.USE_TZ:
        rows = events_after(stored_rows(projection), key, position)
        read = read_events(rows[: projection.batch_size])
        return [event for _, event in read], read[-1][0] if read else key
    bound = read_bound(connection)  # before the statement that reads: decision 0068
    events: list[StoredEvent] = []
    with _cursor(connection) as cursor:
        cursor.execute(_SORT_OFF)
        sorting = cursor.fetchone()[0]
        params = (store.stream_type, key, position, bound, projection.batch_size)
        cursor.execute(_select(connection, store.events._meta.db_table), params, binary=True)
        # in chunks, so that few rows outlive a collection of the young objects: the rows
        # and objects of a batch that do are what makes Python's full collections come often
        for rows in iter(lambda: cursor.fetchmany(CHUNK), []):
            key = rows[-1][0]
            events += [
                StoredEvent(s, v, t, n, _json(d), _json(m), p, at)
                for _, p, s, v, t, n, d, m, at in rows
            ]
        cursor.execute(_SORT_BACK, (sorting,))  # the handler's statements are planned as ever
    return events, key


_decode = json.JSONDecoder().raw_decode


def _json(text: str):
    """``json.loads`` of PostgreSQL's ``jsonb`` text, which has no whitespace around it: its
    one document and nothing after it (``json.loads`` first matches whitespace on both sides
    with a regular expression: 2.5x the time for an event's small objects)."""
    value, end = _decode(text)
    if end != len(text):
        raise ValueError(f"JSON text has more after the document at {end}")
    return value


_SORT_OFF = "SELECT current_setting('enable_sort'), set_config('enable_sort', 'off', true)"
_SORT_BACK = "SELECT set_config('enable_sort', %s, true)"


def _select(connection, table: str) -> str:
    return (
        "SELECT ordering_key, id, stream_id, version, type, schema_version, data::text, "
        f"metadata::text, recorded_at FROM {connection.ops.quote_name(table)} "
        "WHERE stream_type = %s AND (ordering_key, id) > (%s, %s) AND ordering_key < %s "
        "ORDER BY ordering_key, id LIMIT %s"
    )
