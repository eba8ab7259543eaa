"""20 concurrent writers on one stream on PostgreSQL (the contract on the other backend runs
in test_other_backend.py)."""

import threading
import uuid

import pytest
from django.db import connections

from edn_core.domain import ConcurrencyConflict
from tests.edn_core.eventsourcing.store_contract import Counted, make_store


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_twenty_concurrent_writers_one_wins_per_version(require_postgres):
    """20 threads, each its own connection and transaction, append to one stream at the same
    expected version, round after round: exactly one wins each round, the others conflict,
    and the stream holds exactly the winners' events."""
    require_postgres("orders")
    store, stream, writers, rounds = make_store(), uuid.uuid4(), 20, 5
    with store.atomic():
        store.append(stream, 0, [Counted(aggregate_id=stream, by=0)])
    start = threading.Barrier(writers)
    outcomes: dict[int, list] = {r: [] for r in range(rounds)}
    lock = threading.Lock()

    def writer(n: int) -> None:
        try:
            for r in range(rounds):
                start.wait()  # everyone appends at the same expected version
                try:
                    with store.atomic():
                        store.append(stream, r + 1, [Counted(aggregate_id=stream, by=n)])
                    result = ("won", n)
                except ConcurrencyConflict:
                    result = ("conflict", n)
                with lock:
                    outcomes[r].append(result)
                start.wait()  # the round is over for everyone before the next starts
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)  # a deadlock guard
    assert not any(thread.is_alive() for thread in threads)
    winners = []
    for r in range(rounds):
        kinds = sorted(kind for kind, _ in outcomes[r])
        assert kinds == ["conflict"] * (writers - 1) + ["won"], (r, kinds)
        winners += [n for kind, n in outcomes[r] if kind == "won"]
    events = store.read(stream)
    assert [e.version for e in events] == list(range(1, rounds + 2))
    assert [e.data["by"] for e in events[1:]] == winners
