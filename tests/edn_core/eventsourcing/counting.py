"""A projection of the contract suite's counter streams, for the runner's tests.

It keeps its rows in the orders list table (``OrderView``: the one read-model table the test
project has), marked with a customer id of its own: ``items`` is the list of counts applied,
in the order they were applied, so a lost, doubled or reordered event shows. It refuses an
event that is not the next version of its stream.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal

from edn_core.eventsourcing.projections import Projection
from orders.models import OrderView
from tests.edn_core.eventsourcing.store_contract import Counted, make_store

MARK = uuid.UUID(int=7)
VALUES = ["version", "items", "order_total", "updated_at"]


class Counting(Projection):
    name = "counting"
    read_model = OrderView
    stream_field = "order_id"

    def __init__(self, batch_size: int = 50) -> None:
        self.store = make_store()
        self.batch_size = batch_size
        self.fail_when: Callable[[list], bool] | None = None  # the tests' failure hook
        self.on_batch: Callable[[int], object] | None = None  # called with the generation
        self.handled: list[tuple[int, str, int]] = []  # (generation, stream, version)

    def handle(self, batch, generation: int) -> None:
        if self.on_batch is not None:
            self.on_batch(generation)
        found = self.rows(generation).filter(order_id__in={s.stream_id for s, _ in batch})
        rows = {str(row.order_id): row for row in found}
        for stored, event in batch:
            assert isinstance(event, Counted)
            row = rows.get(stored.stream_id) or self._new(generation, stored)
            rows[stored.stream_id] = row
            if stored.version != row.version + 1:
                raise AssertionError(f"{stored.stream_id}: v{stored.version} after {row.version}")
            row.version, row.updated_at = stored.version, stored.recorded_at
            row.items = [*row.items, event.by]
            row.order_total += event.by
            self.handled.append((generation, stored.stream_id, stored.version))
        for row in rows.values():
            row.pk = None
        OrderView.objects.using(self.store.alias).bulk_create(
            rows.values(),
            update_conflicts=True,
            unique_fields=["generation", "order_id"],
            update_fields=VALUES,
        )
        if self.fail_when is not None and self.fail_when(batch):  # after its rows are written
            raise RuntimeError("the test made this batch fail")

    def rows(self, generation: int):
        return super().rows(generation).filter(customer_id=MARK)

    @staticmethod
    def _new(generation: int, stored) -> OrderView:
        return OrderView(
            generation=generation,
            order_id=stored.stream_id,
            version=0,
            customer_id=MARK,
            shipping_address={},
            items=[],
            order_total=Decimal(0),
            state="Pending",
            placed_at=stored.recorded_at,
            updated_at=stored.recorded_at,
        )

    def counts(self, generation: int | None = None) -> dict[str, list[int]]:
        """``{stream: counts applied}`` of ``generation`` (the live one by default)."""
        rows = self.rows(generation) if generation else self.live(self.rows_any())
        return {str(r.order_id): r.items for r in rows}

    def rows_any(self):
        return OrderView.objects.using(self.store.alias).filter(customer_id=MARK)


def stored_counts(store) -> dict[str, list[int]]:
    """``{stream: counts}`` as the store holds them, by version."""
    rows = store.events.objects.using(store.alias).filter(stream_type=store.stream_type)
    found: dict[str, list[int]] = {}
    for stream_id, data in rows.order_by("stream_id", "version").values_list("stream_id", "data"):
        found.setdefault(stream_id, []).append(data["by"])
    return found
