"""``edn_projections`` over 100,000 events on PostgreSQL: a rebuild with a progress bar while a
reader keeps being answered whole from the live generation; status; reset.

The event count is ``EDN_REBUILD_EVENTS`` (default 100,000); docs/projections.md has the
command for other sizes."""

import io
import os
import threading
import uuid

import pytest
from django.core.management import call_command
from django.db import connections
from django.db.models import Count, Func, IntegerField, Sum

from edn_core.eventsourcing import projections
from tests.edn_core.eventsourcing.counting import Counting
from tests.edn_core.eventsourcing.store_contract import Counted

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

EVENTS = int(os.environ.get("EDN_REBUILD_EVENTS", "100000"))
EACH = 10  # events per stream
GUARD_SECONDS = 120  # a deadlock guard, not a measure


@pytest.fixture
def counting(require_postgres):
    require_postgres("orders")
    projection = projections.register(Counting(batch_size=5000))
    yield projection
    projections.unregister(projection.name)


def bulk_fill(store, streams: int) -> None:
    """``streams`` streams of ``EACH`` events, 2,000 streams to an append."""
    ids = [str(uuid.uuid4()) for _ in range(streams)]
    for start in range(0, streams, 2000):
        pending = [
            (s, 0, [Counted(aggregate_id=uuid.UUID(s), by=n) for n in range(1, EACH + 1)])
            for s in ids[start : start + 2000]
        ]
        with store.atomic():
            store.append_many(pending)


def live_totals(projection) -> tuple[int, int]:
    """(orders, events) of the live generation, in one statement (counted by PostgreSQL, not
    by loading every row's items)."""
    events = Sum(Func("items", function="jsonb_array_length", output_field=IntegerField()))
    totals = projection.live(projection.rows_any()).aggregate(orders=Count("pk"), events=events)
    return totals["orders"], totals["events"] or 0


def test_rebuild_of_100000_events_with_progress_while_reads_are_served(counting):
    streams = EVENTS // EACH
    bulk_fill(counting.store, streams)
    call_command("edn_projections", "reset", "counting", stdout=io.StringIO())
    assert live_totals(counting) == (streams, EVENTS)

    reads, asked, answered = [], threading.Event(), threading.Event()
    stop = threading.Event()

    def reader() -> None:  # its own connection, as a request would have
        try:
            while asked.wait(GUARD_SECONDS) and not stop.is_set():
                asked.clear()
                reads.append((counting.live_generation(), *live_totals(counting)))
                answered.set()
        finally:
            connections.close_all()

    def between_batches(generation: int) -> None:
        if generation == 2:  # the rebuild is under way: a read now must see generation 1
            asked.set()
            assert answered.wait(GUARD_SECONDS)
            answered.clear()

    thread = threading.Thread(target=reader)
    thread.start()
    counting.on_batch = between_batches
    out = io.StringIO()
    try:
        call_command("edn_projections", "rebuild", "counting", stdout=out)
    finally:
        stop.set(), asked.set()
        thread.join(GUARD_SECONDS)
    assert len(reads) >= EVENTS // 5000 and set(reads) == {(1, streams, EVENTS)}
    assert f"{EVENTS:,}/{EVENTS:,} events" in out.getvalue()
    assert "generation 2 is live" in out.getvalue()
    assert live_totals(counting) == (streams, EVENTS)

    status = io.StringIO()
    call_command("edn_projections", "status", stdout=status)
    line = next(row for row in status.getvalue().splitlines() if row.startswith("counting"))
    assert line.split()[:5] == ["counting", "2", "yes", line.split()[3], "0"]
    assert counting.rows(1).count() == 0
