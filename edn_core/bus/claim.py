"""Claim one delivery: the consumer's inbox row and, for latest-wins consumers, the move of the
aggregate's checkpoint — on PostgreSQL in one statement (one round trip instead of two).

The outcome is the same as the two statements gave: ``handled`` when the checkpoint moved (or
the consumer is not latest-wins), ``stale`` when a newer event of the aggregate was applied
already; a second delivery of the event is the inbox's unique violation (``IntegrityError``),
which undoes the checkpoint's move with the rest of the transaction.
"""

from __future__ import annotations

import functools

from django.db import connections

from edn_core.bulk import _cursor, advance_checkpoints, insert_values

__all__ = ["INBOX_FIELDS", "claim", "inbox_values"]

HANDLED, STALE = "handled", "stale"
INBOX_FIELDS = (
    "consumer",
    "event_id",
    "topic",
    "aggregate_id",
    "sequence",
    "outcome",
    "processed_at",
)


def claim(store, sub, event, when) -> str:
    """Inside the delivery's transaction: record ``event`` in ``sub``'s inbox and return
    ``handled`` or ``stale``."""
    connection = connections[store.alias]
    if connection.vendor != "postgresql":
        return _claim_portable(store, sub, event, when)
    sql = _claim_sql(store.alias, store.inbox, store.checkpoints if sub.latest_wins else None)
    params = [sub.consumer, event.aggregate_id, event.sequence] if sub.latest_wins else []
    params += [sub.consumer, event.id, event.topic, event.aggregate_id, event.sequence, when]
    with _cursor(connection) as cursor:
        cursor.execute(sql, params)
        (outcome,) = cursor.fetchone()
    return outcome


def inbox_values(sub, event, outcome: str, when) -> tuple:
    """:data:`INBOX_FIELDS` of the inbox row for a bulk insert (no model instance to build)."""
    return (sub.consumer, event.id, event.topic, event.aggregate_id, event.sequence, outcome, when)


def _claim_portable(store, sub, event, when) -> str:
    outcome = HANDLED
    if sub.latest_wins:
        newest = {event.aggregate_id: event.sequence}
        if not advance_checkpoints(store.checkpoints, store.alias, sub.consumer, newest):
            outcome = STALE
    insert_values(store.inbox, store.alias, INBOX_FIELDS, [inbox_values(sub, event, outcome, when)])
    return outcome


@functools.cache
def _claim_sql(alias: str, inbox, checkpoints) -> str:
    """The statement for these tables (built once): with ``checkpoints`` the upsert of
    :func:`edn_core.bulk.advance_checkpoints` for one row feeds the inbox row's outcome."""
    table = connections[alias].ops.quote_name
    values = (
        "VALUES (%s::text, %s::text, %s::text, %s::text, %s::bigint, {outcome}, %s::timestamptz)"
    )
    insert = f"INSERT INTO {table(inbox._meta.db_table)} ({', '.join(INBOX_FIELDS)}) "
    if checkpoints is None:
        return insert + values.format(outcome=f"'{HANDLED}'") + " RETURNING outcome"
    cp = table(checkpoints._meta.db_table)
    return (
        f"WITH moved AS (INSERT INTO {cp} (consumer, aggregate_id, sequence) "
        "VALUES (%s::text, %s::text, %s::bigint) ON CONFLICT (consumer, aggregate_id) DO UPDATE "
        f"SET sequence = excluded.sequence WHERE {cp}.sequence < excluded.sequence RETURNING 1) "
        + insert
        + values.format(
            outcome=f"CASE WHEN EXISTS (SELECT 1 FROM moved) THEN '{HANDLED}' ELSE '{STALE}' END"
        )
        + " RETURNING outcome"
    )
