"""Gap safety on PostgreSQL (decision 0068): writer processes whose transactions commit out of
position order -- held open on purpose, committed when the test says -- while a projection
runs; it ends with every event exactly once and in order per stream, and an open
transaction on one stream blocks no append to another."""

import random
import threading
import uuid

import pytest
from django.db import connections, transaction

from edn_core.eventsourcing import running
from edn_core.eventsourcing.admin import oldest_running_transaction
from tests.edn_core.eventsourcing.counting import Counting, stored_counts
from tests.edn_core.eventsourcing.writers import start_writers

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


@pytest.fixture
def writers(require_postgres):
    require_postgres("orders")
    started = []

    def start(n: int):
        started.extend(start_writers(n))
        return started[-n:]

    yield start
    for writer in started:
        writer.stop()


def catch_up(projection) -> int:
    return running.catch_up(projection, running.ensure_live(projection).generation, wait=True)


def test_an_older_transaction_appending_later_is_neither_skipped_nor_reordered(writers):
    """W1 takes a transaction id first; W2 then appends v1 of stream S and commits; W1
    appends v2 of S (a later position, an older id) and stays open; W3 appends to R and
    commits meanwhile (not blocked). The projection waits for W1 -- late, never wrong --
    then applies v1, v2 of S and R once each, in order."""
    projection, (w1, w2, w3) = Counting(batch_size=2), writers(3)
    s, r = str(uuid.uuid4()), str(uuid.uuid4())
    w1.call("begin")
    old_tx = w1.call("xid")
    w2.call("begin"), w2.call("append", s, 0, 1), w2.call("commit")
    w1.call("append", s, 1, 2)  # held open: W1 is not asked to commit yet
    w3.call("begin"), w3.call("append", r, 0, 1), w3.call("commit")  # completes meanwhile
    rows = projection.store.events.objects.filter(stream_id__in=[s, r])
    assert [(e.stream_id, e.version) for e in rows.order_by("id")] == [(s, 1), (r, 1)]
    assert catch_up(projection) == 0  # S v1 and R committed, yet above the open W1
    w1.call("commit")
    keys = dict(rows.filter(stream_id=s).values_list("version", "tx"))
    assert keys[2] == old_tx < keys[1]  # by transaction id alone v2 would come first
    assert catch_up(projection) == 3
    assert projection.counts(1) == {s: [1, 2], r: [1]} == stored_counts(projection.store)
    assert sorted(projection.handled) == sorted({(1, s, 1), (1, s, 2), (1, r, 1)})


def test_writers_committing_in_reverse_position_order_while_a_projection_runs(writers):
    """4 writers, 12 rounds: each round every writer appends to one of its streams and holds
    its transaction; the test commits them in reverse order of their positions, while a
    projection thread catches up without pause. Every event is applied exactly once, in
    version order (the projection refuses any other), and the result equals the store."""
    pool, rounds = writers(4), 12
    projection = Counting(batch_size=7)
    streams = {w: [str(uuid.uuid4()) for _ in range(3)] for w in range(len(pool))}
    versions: dict[str, int] = {}
    stop, failures = threading.Event(), []

    def project() -> None:
        try:
            while not stop.is_set():
                catch_up(projection)
        except Exception as error:  # reported by the test below
            failures.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=project)
    thread.start()
    rng = random.Random(14)
    try:
        for n in range(rounds):
            held = []
            for w, writer in enumerate(pool):
                stream = rng.choice(streams[w])
                writer.call("begin")
                held.append((writer.call("append", stream, versions.get(stream, 0), n), writer))
                versions[stream] = versions.get(stream, 0) + 1
            for _, writer in sorted(held, key=lambda h: h[0], reverse=True):
                writer.call("commit")
    finally:
        stop.set()
        thread.join(120)
    assert not failures, failures
    catch_up(projection)
    expected = stored_counts(projection.store)
    assert sum(len(c) for c in expected.values()) == len(pool) * rounds
    assert projection.counts(1) == expected
    assert len(projection.handled) == len(set(projection.handled)) == len(pool) * rounds


def test_only_transactions_of_the_store_database_hold_the_projection_back(writers):
    """Transaction ids are server-wide: an open transaction on another database (customers)
    does not hold the orders projection back; an open one on the orders database does, even
    one that wrote nothing yet."""
    assert connections["customers"].vendor == "postgresql"  # every alias, as in CI
    projection, (writer, idle) = Counting(), writers(2)
    with transaction.atomic(using="customers"):
        with connections["customers"].cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()")  # an id older than what follows
        s = str(uuid.uuid4())
        writer.call("begin"), writer.call("append", s, 0, 1), writer.call("commit")
        assert catch_up(projection) == 1
        idle.call("begin")
        idle_xid = idle.call("xid")  # on the orders database, holds an id
        assert oldest_running_transaction("orders").startswith(f"xid {idle_xid % 2**32},")
        here = str(uuid.uuid4())
        writer.call("begin"), writer.call("append", here, 0, 1), writer.call("commit")
        assert catch_up(projection) == 0  # the idle transaction may still append below it
        idle.call("commit")
        assert catch_up(projection) == 1
    assert projection.counts(1) == {s: [1], here: [1]}
