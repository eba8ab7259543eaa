"""Projections: read models written from an app's event store, exactly once and gap-safe.

    class OrderList(Projection):
        name = "order_list"
        store = orders_store
        read_model, stream_field = OrderView, "order_id"

        def handle(self, batch, generation):
            ...  # write OrderView rows of ``generation`` for these (stored, event) pairs

    register(OrderList())  # in the app's AppConfig.ready

Registered projections catch up in every round of the bus workers of the process (woken when
an append commits) and in ``EventBus.run_until_quiet``. Read a read model through
:meth:`Projection.live`: its rows carry a generation, and a rebuild writes the next one beside
the live one before swapping (decision 0070).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Literal

from django.db import models, transaction
from django.db.models import Subquery

from edn_core.bus.worker import each_round
from edn_core.domain import DomainEvent
from edn_core.eventsourcing import generations, running
from edn_core.eventsourcing.codec import StoredEvent
from edn_core.eventsourcing.signals import subject_forgotten
from edn_core.eventsourcing.store import EventStore
from edn_core.routers import alias_for

__all__ = ["Projection", "catch_up_all", "get", "projections", "register", "unregister"]

logger = logging.getLogger(__name__)
Batch = Sequence[tuple[StoredEvent, DomainEvent]]
# Events per projection and bus worker round, in whole batches (at least one): the relay
# runs between rounds.
ROUND_EVENTS = 20_000
ROUND = "round"


class Projection:
    """A read model kept from one store's streams. Subclasses set ``name`` and ``store`` and
    write :meth:`handle`; with ``read_model`` (a model with a ``generation`` field) and
    ``stream_field`` (its field holding the stream id) :meth:`clear` and :meth:`forget` need
    no code."""

    name: str = ""
    store: EventStore
    # Events per transaction. A batch's fixed costs (its read-model rows, one per stream it
    # touches, read and upserted; the checkpoint; the read bound) are shared by its events: a
    # catch-up over 1,000 streams runs ~3x faster with 10,000 than with 1,000. The price is
    # memory: ~1 KB per small event in flight, ~6 KB per order with three lines.
    batch_size: int = 10_000
    read_model: type[models.Model] | None = None
    stream_field: str = "stream_id"

    def handle(self, batch: Batch, generation: int) -> None:
        """Write ``generation``'s rows for ``batch``: ``(stored, decoded)`` pairs in store
        order (per stream: by version). Runs in the transaction that moves the checkpoint."""
        raise NotImplementedError

    def clear(self, generation: int) -> None:
        """Delete every row of ``generation``."""
        self.rows(generation).delete()

    def forget(self, stream_ids: Sequence[str], generation: int) -> None:
        """Delete ``generation``'s rows of ``stream_ids`` (they are projected again next)."""
        self.rows(generation).filter(**{f"{self.stream_field}__in": list(stream_ids)}).delete()

    def rows(self, generation: int) -> models.QuerySet:
        if self.read_model is None:
            raise NotImplementedError(f"{type(self).__name__} needs a read_model or clear/forget")
        return self.read_model._default_manager.using(self.store.alias).filter(
            generation=generation
        )

    def live_generation(self) -> int | None:
        """The generation reads are served from (None before the projection first ran)."""
        found = running.states(self).filter(live=True).values_list("generation", flat=True)
        return found.first()

    def live(self, rows: models.QuerySet) -> models.QuerySet:
        """``rows`` of the live generation, chosen inside the same statement: a read sees
        either side of a swap whole, never the generation it chose being cleared."""
        live = running.states(self).filter(live=True).values("generation")[:1]
        return rows.filter(generation=Subquery(live))


_registry: dict[str, Projection] = {}


def register(projection: Projection) -> Projection:
    """Make ``projection`` known to the bus workers, the test harness and ``edn_projections``."""
    known = _registry.get(projection.name)
    if known is not None and type(known) is not type(projection):
        raise ValueError(f"another projection is registered as {projection.name}")
    _registry[projection.name] = projection
    each_round(catch_up_all, name="edn-projections")
    return projection


def unregister(name: str) -> None:
    _registry.pop(name, None)


def projections(app_label: str | None = None) -> list[Projection]:
    """The registered projections (of ``app_label``'s store when given), by name."""
    found = sorted(_registry.values(), key=lambda p: p.name)
    return [p for p in found if app_label is None or p.store.app_label == app_label]


def get(name: str) -> Projection:
    try:
        return _registry[name]
    except KeyError:
        known = ", ".join(sorted(_registry)) or "none"
        raise LookupError(f"no projection {name!r} is registered (known: {known})") from None


def catch_up_all(max_batches: int | Literal["round"] | None = ROUND) -> int:
    """Move every registered projection's live generation on by up to ``max_batches`` (a
    bus worker round: as many as make ``ROUND_EVENTS``; None: until caught up); return how
    many events. A failing projection (its error kept on its state) does not stop the
    others: it is logged while they move, and raised by a round where nothing moved."""
    moved, failed = 0, None
    for projection in projections():
        batches = (
            max(1, ROUND_EVENTS // projection.batch_size) if max_batches == ROUND else max_batches
        )
        try:
            live = running.ensure_live(projection)
            moved += running.catch_up(projection, live.generation, max_batches=batches)
        except Exception as error:
            failed = failed or error
            logger.warning("projection %s failed: %r", projection.name, error)
    if failed is not None and not moved:
        raise failed
    return moved


def _reproject_forgotten(sender, app_label: str, stream_ids: Iterable[str], **kwargs) -> None:
    """After a subject was forgotten, project its streams again (now redacted) in every
    generation of every projection of the app, in one transaction: no read model keeps
    plaintext the store no longer has."""
    stream_ids = [str(s) for s in stream_ids]
    with transaction.atomic(using=alias_for(app_label)):
        for projection in projections(app_label):
            generations.reapply(projection, stream_ids)


subject_forgotten.connect(_reproject_forgotten, dispatch_uid="edn-projections-forget")
