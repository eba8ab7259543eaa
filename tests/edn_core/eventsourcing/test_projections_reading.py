"""The runner's read of a batch (edn_core/eventsourcing/reading.py): the same events, in the
same order, as the store's rows read through the ORM; on PostgreSQL a walk of the
``(ordering_key, id)`` index whatever the table's statistics, that leaves the planner's
settings of the batch's other statements as they were."""

import uuid

import psycopg
import pytest
from django.db import connections, transaction

from edn_core.eventsourcing import reading, running
from edn_core.tracing import MessageContext, using
from tests.edn_core.eventsourcing.counting import Counting
from tests.edn_core.eventsourcing.store_contract import Counted

pytestmark = pytest.mark.django_db(databases="__all__")


def append_counts(store, streams: int, each: int) -> None:
    ids = [uuid.uuid4() for _ in range(streams)]
    for version in range(each):
        context = MessageContext(f"c{version}", "cause", "00-trace", subject="someone")
        with store.atomic(), using(context):
            store.append_many([(str(s), version, [Counted(aggregate_id=s, by=1)]) for s in ids])


def orm_read(projection, key: int, position: int):
    rows = reading.events_after(reading.stored_rows(projection), key, position)
    return reading.read_events(rows[: projection.batch_size])


def test_a_batch_is_the_stored_events_after_the_checkpoint_in_store_order():
    projection = Counting(batch_size=7)
    append_counts(projection.store, streams=3, each=4)  # 12 events, 3 per append
    key, position, seen = 0, 0, []
    with transaction.atomic(using=projection.store.alias):
        while True:
            expected = orm_read(projection, key, position)
            events, last_key = reading.next_batch(projection, key, position)
            assert events == [event for _, event in expected]  # every field, metadata too
            assert len(events) <= projection.batch_size
            if not events:
                assert last_key == key
                break
            assert last_key == expected[-1][0]
            key, position = last_key, events[-1].position
            seen += events
    assert seen == [event for _, event in orm_read(Counting(batch_size=100), 0, 0)]
    assert len(seen) == 12 and all(e.recorded_at.utcoffset() is not None for e in seen)
    assert {e.metadata["correlation_id"] for e in seen} == {"c0", "c1", "c2", "c3"}
    for stream in {e.stream_id for e in seen}:
        assert [e.version for e in seen if e.stream_id == stream] == [1, 2, 3, 4]


def plan(cursor, statement: str, params) -> str:
    cursor.execute(f"EXPLAIN {statement}", params)
    return "\n".join(row[0] for row in cursor.fetchall())


def test_the_read_walks_the_index_even_without_statistics(require_postgres):
    """A table never analysed (autovacuum off, or a bulk import it has not seen yet) is
    planned as a scan and a sort of every row after the checkpoint unless sorting is off."""
    require_postgres("orders")
    projection = Counting()
    append_counts(projection.store, streams=20, each=5)
    connection = connections[projection.store.alias]
    table = projection.store.events._meta.db_table
    statement = reading._select(connection, table)
    params = [projection.store.stream_type, 0, 0, 2**62, projection.batch_size]
    with transaction.atomic(using="orders"), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM pg_statistic WHERE starelid = '{table}'::regclass")
        cursor.execute(f"UPDATE pg_class SET reltuples = -1 WHERE oid = '{table}'::regclass")
        assert "Sort" in plan(cursor, statement, params)  # what the planner picks alone
        cursor.execute(reading._SORT_OFF)
        walked = plan(cursor, statement, params)
        transaction.set_rollback(True, using="orders")  # the statistics as they were
    assert "Sort" not in walked and "orders_event_order" in walked, walked


@pytest.mark.parametrize("before", ["on", "off"])
def test_sorting_is_off_for_the_read_alone(require_postgres, monkeypatch, before):
    require_postgres("orders")
    projection = Counting()
    append_counts(projection.store, streams=2, each=2)
    connection = connections[projection.store.alias]
    during = []
    select = reading._select

    def spied(connection, table):
        with connection.cursor() as cursor:
            cursor.execute("SHOW enable_sort")
            during.append(cursor.fetchone()[0])
        return select(connection, table)

    monkeypatch.setattr(reading, "_select", spied)
    with transaction.atomic(using="orders"), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL enable_sort = {before}")
        events, _ = reading.next_batch(projection, 0, 0)
        cursor.execute("SHOW enable_sort")
        after = cursor.fetchone()[0]
    assert (len(events), during, after) == (4, ["off"], before)


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_generation_another_process_holds_is_passed_over_not_waited_for(require_postgres):
    """The bus workers of several processes run the same projections: a round finds a
    generation another one holds and moves on; the next round applies the batch."""
    require_postgres("orders")
    projection = Counting(batch_size=5)
    append_counts(projection.store, streams=2, each=2)
    state = running.ensure_live(projection)
    connection = connections[projection.store.alias]
    table = connection.ops.quote_name(type(state)._meta.db_table)
    params = connection.settings_dict
    other = psycopg.connect(
        host=params["HOST"],
        port=params["PORT"] or 5432,
        user=params["USER"],
        password=params["PASSWORD"] or None,
        dbname=params["NAME"],
    )
    try:
        other.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [state.pk])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '60s'")  # a deadlock guard, not a measure
        assert running.run_batch(projection, state.generation) == 0
        assert running.states(projection).get(pk=state.pk).applied == 0
        other.rollback()
        assert running.run_batch(projection, state.generation) == 4
    finally:
        other.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert running.states(projection).get(pk=state.pk).applied == 4
