"""A deterministic harness for testing event flows: no sleeps, no threads.

    from edn_core.testing import EventBus

    def test_address_change_reaches_orders(api):
        bus = EventBus()
        api.put(...)                                   # a command writes to the outbox
        bus.run_until_quiet()                          # relay + dispatch until nothing moves
        assert bus.published("v1.CustomerAddressUpdated")[0].data["customerId"] == ...

``run_until_quiet`` relays every outbox through the configured transport (``local`` in tests),
runs retries that are due and catches up the registered projections (the bus workers' round
jobs); ``fast_forward=True`` makes every scheduled retry due at once.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from edn_core.bus import retries
from edn_core.bus.relay import drain
from edn_core.bus.stores import all_stores
from edn_core.bus.worker import run_rounds
from edn_core.events import IntegrationEvent

__all__ = ["EventBus"]


class EventBus:
    """Drive the bus by hand in tests and inspect what was published."""

    def __init__(self) -> None:
        self._seen = {store.alias: self._last_id(store) for store in all_stores()}

    @staticmethod
    def _last_id(store) -> int:
        return store.rows(store.outbox).order_by("-id").values_list("id", flat=True).first() or 0

    def run_until_quiet(self, *, fast_forward: bool = False, max_rounds: int = 1000) -> int:
        """Relay, dispatch and project until nothing is pending; return how many messages
        moved."""
        total = 0
        for _ in range(max_rounds):
            now = timezone.now() + (timedelta(days=365) if fast_forward else timedelta())
            moved = sum(drain(s) + retries.retry_due(s, now=now) for s in all_stores())
            projected = run_rounds(strict=True)
            total += moved
            if not moved and not projected:
                return total
        raise AssertionError(f"bus still busy after {max_rounds} rounds")

    def project(self, *, max_rounds: int = 1000) -> None:
        """Catch up the registered projections only -- nothing is relayed or delivered: read a
        read model (the orders list) as it follows the store, without sagas moving on."""
        for _ in range(max_rounds):
            if not run_rounds(strict=True):
                return
        raise AssertionError(f"projections still busy after {max_rounds} rounds")

    def published(self, topic: str | None = None) -> list[IntegrationEvent]:
        """Return events written to any outbox since this harness was created, oldest first."""
        events = []
        for store in all_stores():
            rows = store.rows(store.outbox).filter(id__gt=self._seen.get(store.alias, 0))
            if topic:
                rows = rows.filter(topic=topic)
            events += [IntegrationEvent.from_json(r.envelope) for r in rows.order_by("id")]
        return sorted(events, key=lambda e: e.time)

    def pending(self) -> int:
        """Return how many outbox rows are not yet sent, over every alias."""
        return sum(s.rows(s.outbox).filter(sent_at__isnull=True).count() for s in all_stores())

    def dead_letters(self) -> list:
        """Return every dead-lettered delivery, over every alias."""
        return [
            row
            for s in all_stores()
            for row in s.rows(s.failures).filter(status=s.failures.DEAD).order_by("id")
        ]
