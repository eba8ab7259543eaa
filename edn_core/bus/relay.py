"""The relay: publish outbox rows in order, mark them sent only once the transport confirmed.

Order per aggregate holds with any number of relays: rows are grouped in partitions by
aggregate id, and a relay publishes a partition only while it holds that partition's lock --
a session advisory lock on PostgreSQL, the database write lock on SQLite. A relay that dies
mid-batch leaves its rows unsent; the next relay publishes them again (at-least-once; the
consumers' inbox removes the duplicates).
"""

from __future__ import annotations

import logging
import uuid
import weakref
import zlib
from contextlib import contextmanager
from typing import NamedTuple

from django.db import connections, transaction
from django.utils import timezone

from edn_core import testing_hooks
from edn_core.bulk import mark_sent
from edn_core.bus.config import bus_config
from edn_core.bus.outbox import PARTITIONS
from edn_core.bus.stores import BusStore
from edn_core.bus.transports import Transport, get_transport
from edn_core.observability import messaging

__all__ = ["PublishFailed", "drain", "relay_batch"]

logger = logging.getLogger(__name__)


class PendingMessage(NamedTuple):
    """An outbox row as the transports need it (plain values: no model instances to build)."""

    id: int
    event_id: uuid.UUID
    topic: str
    aggregate_id: str
    envelope: str
    attempts: int


FIELDS = PendingMessage._fields


class PublishFailed(RuntimeError):
    """The transport refused or failed a message; the relay backs off and tries again."""


def _lock_class(store: BusStore) -> int:
    return zlib.crc32(store.outbox._meta.db_table.encode()) & 0x7FFFFFFF


# (alias, lock class) -> (the database session holding them, partitions): the claims a
# long-running relay keeps
_kept: dict[tuple[str, int], tuple[weakref.ref, list[int]]] = {}


def _try_lock(connection, key: int, partitions) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p FROM unnest(%s::int[]) AS p WHERE pg_try_advisory_lock(%s, p)",
            [list(partitions), key],
        )
        return [row[0] for row in cursor.fetchall()]


def _read_pending_in_index_order(connection) -> None:
    """Rows marked sent stay in the pending index until vacuum. A bitmap scan (what the
    planner picks when it expects few pending rows) visits every one of them again on every
    round; an index scan marks them dead the first time and skips them after. Only for a relay
    publishing to a broker: its session is its own, so the setting reaches only its queries
    and periodic jobs (the local transport runs handlers on the relay's connections)."""
    with connection.cursor() as cursor:
        cursor.execute("SET enable_bitmapscan = off")


def _still_held(store: BusStore) -> bool:
    """Whether the session that took the kept claims is still the one in use (else the locks
    went with the old one, and nothing may be published before they are taken again)."""
    connection = connections[store.alias]
    if connection.vendor != "postgresql":
        return True  # SQLite: the batch's write transaction is the claim
    owner, _ = _kept.get((store.alias, _lock_class(store)), (None, []))
    return owner is not None and owner() is connection.connection


@contextmanager
def _claimed_partitions(store: BusStore, keep: bool = False, index_order: bool = False):
    """The partitions this relay may publish now. ``keep``: a long-running relay keeps its
    locks between batches (they go with its database session) and only tries to take the
    ones it lacks, so a busy relay spends no statement on them; other relays then stand by
    until a partition is free."""
    connection = connections[store.alias]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=store.alias):  # SQLite: IMMEDIATE = exclusive writer
            yield list(range(PARTITIONS))
        return
    key = _lock_class(store)
    if keep:
        # A session that died while idle must be replaced now, not silently by the next query
        # (which would then run on a session holding no lock).
        connection.close_if_health_check_failed()
        connection.ensure_connection()
        session = connection.connection
        owner, held = _kept.get((store.alias, key), (None, []))
        if owner is None or owner() is not session:  # a new session holds nothing yet
            held = []
            if index_order:
                _read_pending_in_index_order(connection)
        if len(held) < PARTITIONS:
            held = sorted(held + _try_lock(connection, key, set(range(PARTITIONS)) - set(held)))
            _kept[store.alias, key] = (weakref.ref(session), held)
        yield held
        return
    held = _try_lock(connection, key, range(PARTITIONS))
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:  # one round trip for every partition held
                cursor.execute(
                    "SELECT pg_advisory_unlock(%s, p) FROM unnest(%s::int[]) AS p", [key, held]
                )


def relay_batch(
    store: BusStore,
    transport: Transport | None = None,
    batch: int | None = None,
    *,
    keep_claims: bool = False,
) -> int:
    """Publish one batch of pending rows of ``store``; return how many were confirmed.

    Raise :class:`PublishFailed` when the transport confirmed fewer rows than it was given.
    """
    transport = transport or get_transport()
    with _claimed_partitions(
        store, keep_claims, index_order=transport.name != "local"
    ) as partitions:
        testing_hooks.pause_point("relay.claimed", store.alias)
        if not partitions:
            return 0
        pending = store.rows(store.outbox).filter(sent_at__isnull=True)
        if len(partitions) < PARTITIONS:  # another relay holds the rest
            pending = pending.filter(partition__in=partitions)
        limit = batch or bus_config().relay_batch
        rows = [PendingMessage(*r) for r in pending.order_by("id").values_list(*FIELDS)[:limit]]
        if not rows or (keep_claims and not _still_held(store)):
            return 0
        with messaging.sending(rows) as sent:
            try:
                confirmed = transport.publish(rows)
                error = None if confirmed == len(rows) else "not confirmed by the transport"
            except Exception as exc:  # broker down, timeout: keep the rows, report, back off
                confirmed, error = 0, f"{type(exc).__name__}: {exc}"
            sent.append(confirmed)
        testing_hooks.pause_point("relay.published", store.alias)
        if confirmed:
            ids = [row.id for row in rows[:confirmed]]
            mark_sent(store.outbox, store.alias, ids, timezone.now())
        if error:
            failed = rows[confirmed]
            store.rows(store.outbox).filter(id=failed.id).update(
                attempts=failed.attempts + 1, last_error=error[:10_000]
            )
    if error:  # raised outside the claim: on SQLite that is a transaction to commit first
        raise PublishFailed(f"{store.alias}: {failed.topic} {failed.event_id}: {error}")
    return confirmed


def drain(
    store: BusStore,
    transport: Transport | None = None,
    *,
    max_batches: int = 1000,
    keep_claims: bool = False,
) -> int:
    """Publish until ``store`` has nothing pending that this relay can claim."""
    total, batch = 0, bus_config().relay_batch
    for _ in range(max_batches):
        moved = relay_batch(store, transport, batch, keep_claims=keep_claims)
        total += moved
        if moved < batch:  # a short batch: nothing more was pending when it was read
            break
    return total
