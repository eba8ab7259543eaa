"""The store contract once more on the backend the suite is not running on, so every run
proves it on both SQLite and PostgreSQL; and 20 concurrent writers on PostgreSQL."""

import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from edn_core.domain import ConcurrencyConflict
from tests.edn_core.eventsourcing.store_contract import Counted, make_store
from tests.support.postgres import PG, postgres_or_skip

ROOT = Path(__file__).resolve().parents[3]
CONTRACT = "tests/edn_core/eventsourcing/test_store_contract.py"
ALIASES = list(settings.DATABASES)


def _on_postgres() -> bool:
    return settings.DATABASES["orders"]["ENGINE"].endswith("postgresql")


def test_store_contract_on_the_other_backend():
    """On SQLite runs, every alias on PostgreSQL (databases ``edn_es_*``); on PostgreSQL
    runs (CI), every alias on SQLite."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    if not _on_postgres():
        postgres_or_skip()
        env |= {f"{a.upper()}_DATABASE_URL": f"{PG}/edn_es_{a}" for a in ALIASES}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", CONTRACT],
        cwd=ROOT,
        env=env | {"DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        timeout=600,  # a deadlock guard, not a measure
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "skipped" not in run.stdout, run.stdout[-2000:]


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
