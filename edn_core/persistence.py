"""Repositories: load and save aggregates through the ORM with optimistic concurrency.

A save is ``UPDATE ... WHERE id = %s AND version = %s``: of two writers that loaded the same
version, exactly one succeeds and the other gets :class:`~edn_core.domain.ConcurrencyConflict`
-- on every database, without holding row locks across the request.

The version counts the aggregate's events: a save that records three events moves it by three,
and the n-th of them carries sequence ``old version + n``. The published ones go to the outbox
in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.db import models, router, transaction

from edn_core.bulk import insert_rows, update_versioned
from edn_core.bus.outbox import write_outbox
from edn_core.domain import AggregateRoot, ConcurrencyConflict, NotFound

__all__ = ["Repository"]

A = TypeVar("A", bound=AggregateRoot)


class Repository(Generic[A]):
    """Persistence of one aggregate type in one model with a ``version`` column.

    Subclasses set ``model`` and implement :meth:`to_domain` and :meth:`to_fields`.
    """

    model: type[models.Model]

    @property
    def alias(self) -> str:
        return router.db_for_write(self.model)

    def atomic(self, savepoint: bool = True):
        """Return a transaction on this repository's alias: inside an open one, a savepoint,
        so a caller may catch a refusal and go on. ``savepoint=False`` joins the open one
        instead (two round trips fewer), for blocks whose errors end the whole transaction
        anyway, such as set-based handlers inside a delivery."""
        return transaction.atomic(using=self.alias, savepoint=savepoint)

    def to_domain(self, row: models.Model) -> A:
        raise NotImplementedError

    def to_fields(self, aggregate: A) -> dict[str, Any]:
        """Return the column values of ``aggregate`` (without ``id`` and ``version``)."""
        raise NotImplementedError

    def changes(self, aggregate: A) -> dict[str, Any]:
        """The columns a save may change (``save_all`` writes only these); all by default."""
        return self.to_fields(aggregate)

    def queryset(self) -> models.QuerySet:
        """Rows to load aggregates from."""
        return self.model._default_manager.using(self.alias)

    def load(self, rows: models.QuerySet) -> list[A]:
        """The aggregates of ``rows`` (a filtered :meth:`queryset`). Override to read child
        rows of all of them with one more query."""
        return [self.to_domain(row) for row in rows]

    def get(self, aggregate_id: Any) -> A:
        found = self.load(self.queryset().filter(pk=aggregate_id))
        if not found:
            raise NotFound(f"{self.model._meta.verbose_name} {aggregate_id} does not exist.")
        return found[0]

    def get_many(self, ids) -> dict[Any, A]:
        """Load the aggregates with these ids (two queries at most); missing ones are absent."""
        return {a.id: a for a in self.load(self.queryset().filter(pk__in=list(ids)))}

    def change(
        self, aggregate_id: Any, change: Callable[[A], None], expected_version: int | None = None
    ) -> A:
        """Load, check ``expected_version``, apply ``change`` and save if it recorded events,
        all in one transaction; return the aggregate."""
        with self.atomic():
            aggregate = self.get(aggregate_id)
            aggregate.check_version(expected_version)
            change(aggregate)
            if aggregate.pending_events:
                self.save(aggregate)
        return aggregate

    def add(self, aggregate: A) -> None:
        events = aggregate.pull_events()
        version = max(1, len(events))
        self.model._default_manager.using(self.alias).create(
            pk=aggregate.id, version=version, **self.to_fields(aggregate)
        )
        aggregate.version = version
        self._publish(events, first_sequence=1)

    def add_all(self, aggregates: list[A]) -> None:
        """Insert several new aggregates with one statement and their events with one more
        (set-based handlers). For aggregates stored in one row; override for child rows."""
        rows, published = [], []
        for aggregate in aggregates:
            events = aggregate.pull_events()
            aggregate.version = max(1, len(events))
            fields = self.to_fields(aggregate)
            rows.append(self.model(pk=aggregate.id, version=aggregate.version, **fields))
            published += list(enumerate(events, 1))
        with self.atomic():
            insert_rows(self.model, self.alias, rows)
            self._publish_numbered(published)

    def save(self, aggregate: A) -> None:
        events = aggregate.pull_events()
        version = aggregate.version + max(1, len(events))
        changed = self._current(aggregate).update(version=version, **self.to_fields(aggregate))
        self._ensure_one(changed, aggregate)
        first_sequence, aggregate.version = aggregate.version + 1, version
        self._publish(events, first_sequence)

    def save_all(self, aggregates: list[A]) -> None:
        """Save several changed aggregates with a few statements (set-based handlers): one
        versioned UPDATE per chunk of 200 and one outbox insert; a concurrent change to any
        of them raises ConcurrencyConflict and nothing is saved."""
        if not aggregates:
            return
        rows, published = [], []
        for aggregate in aggregates:
            events = aggregate.pull_events()
            new_version = aggregate.version + max(1, len(events))
            rows.append((aggregate.id, aggregate.version, new_version, self.changes(aggregate)))
            published += list(enumerate(events, aggregate.version + 1))
        with self.atomic():
            update_versioned(self.model, self.alias, rows)
            self._publish_numbered(published)
        for aggregate, (_, _, new_version, _) in zip(aggregates, rows, strict=True):
            aggregate.version = new_version

    def remove(self, aggregate: A) -> None:
        events = aggregate.pull_events()
        deleted, _ = self._current(aggregate).delete()
        self._ensure_one(deleted, aggregate)
        self._publish(events, aggregate.version + 1)

    def _publish(self, events: list, first_sequence: int) -> None:
        self._publish_numbered(list(enumerate(events, first_sequence)))

    def _publish_numbered(self, events: list[tuple[int, Any]]) -> None:
        """Write ``(sequence, event)`` pairs to the outbox (override to publish otherwise)."""
        write_outbox(self.model._meta.app_label, events)

    def _current(self, aggregate: A) -> models.QuerySet:
        manager = self.model._default_manager.using(self.alias)
        return manager.filter(pk=aggregate.id, version=aggregate.version)

    def _ensure_one(self, count: int, aggregate: A) -> None:
        if count != 1:
            raise ConcurrencyConflict(
                f"{self.model._meta.verbose_name} {aggregate.id} changed concurrently.",
                expected=aggregate.version,
                actual=None,
            )
