"""The streams contract, idempotent appends: an entry whose id the stream holds is not appended
again, and its position is the original's (edn_core/streams/port.py). Runs on every adapter
(the conftest's ``log``); the brokers' dedup windows are checked at the end, on the servers."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from edn_core.streams.port import NewEntry, StreamLog, partition_of
from tests.edn_core.streams.test_contract import keys_in, new_name, read_all


def every_entry(log: StreamLog, stream: str) -> list:
    return [e for p in range(log.info(stream).partitions) for e in read_all(log, stream, p)]


def event_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def stream(log: StreamLog) -> str:
    name = new_name()
    log.ensure(name, 3)
    return name


def test_an_id_appended_again_is_not_added_and_answers_the_original_position(log, stream):
    first = NewEntry("order-1", {"n": 1}, {"traceparent": "t"}, id=event_id())
    (position,) = log.append(stream, [first])
    log.append(stream, [NewEntry("order-1", {"n": 2})])  # another entry of the key meanwhile
    again = log.append(stream, [NewEntry("order-1", {"n": 1, "retry": True}, id=first.id)])
    assert again == [position]
    entries = every_entry(log, stream)
    assert [(e.value, e.id) for e in entries] == [({"n": 1}, first.id), ({"n": 2}, None)]
    assert (entries[0].partition, entries[0].offset) == position
    assert entries[0].headers == {"traceparent": "t"}
    assert log.info(stream).lengths[position[0]] == 2


def test_a_repeated_id_inside_one_call_is_appended_once(log, stream):
    ids = [event_id() for _ in range(3)]
    entries = [
        NewEntry("a", {"n": 0}, id=ids[0]),
        NewEntry("a", {"n": 1}, id=ids[1]),
        NewEntry("a", {"n": 0, "copy": True}, id=ids[0]),
        NewEntry("a", {"n": 2}, id=ids[2]),
        NewEntry("a", {"n": 1, "copy": True}, id=ids[1]),
    ]
    positions = log.append(stream, entries)
    assert positions[2] == positions[0] and positions[4] == positions[1]
    kept = [positions[0], positions[1], positions[3]]
    assert [o for _, o in kept] == sorted({o for _, o in kept})  # increasing, distinct
    assert [(e.value["n"], e.id) for e in every_entry(log, stream)] == list(enumerate(ids))


def test_a_batch_mixing_held_ids_new_ids_and_no_ids(log, stream):
    (key,) = keys_in(1, 3)
    held = [NewEntry(key, {"n": n}, id=event_id()) for n in range(3)]
    before = log.append(stream, held)
    batch = [
        NewEntry(key, {"n": 3}),
        held[1],
        NewEntry(key, {"n": 4}, id=event_id()),
        held[2],
        NewEntry(key, {"n": 5}),
    ]
    positions = log.append(stream, batch)
    assert positions[1] == before[1] and positions[3] == before[2]
    fresh = [positions[0], positions[2], positions[4]]
    assert all(p == 1 for p, _ in fresh)
    offsets = [o for _, o in fresh]
    assert offsets == sorted(offsets) and offsets[0] > before[2][1] and len(set(offsets)) == 3
    entries = read_all(log, stream, 1)
    assert [e.value["n"] for e in entries] == [0, 1, 2, 3, 4, 5]
    assert [(e.partition, e.offset) for e in entries] == before + fresh
    assert log.info(stream).last_offsets[1] == offsets[-1]


def test_a_batch_of_held_ids_only_adds_nothing(log, stream):
    entries = [NewEntry(f"k{n}", {"n": n}, id=event_id()) for n in range(6)]
    positions = log.append(stream, entries)
    ends = log.info(stream)
    assert log.append(stream, list(reversed(entries))) == list(reversed(positions))
    assert log.info(stream) == ends
    assert sorted(e.value["n"] for e in every_entry(log, stream)) == list(range(6))


def test_entries_without_an_id_are_always_appended(log, stream):
    same = NewEntry("k", {"n": 1})
    first, second = log.append(stream, [same, same])
    assert first != second
    assert len(every_entry(log, stream)) == 2


def test_ids_are_per_stream(log, stream):
    other = new_name()
    log.ensure(other, 3)
    entry = NewEntry("k", {"n": 1}, id=event_id())
    log.append(stream, [entry])
    log.append(other, [entry])
    assert [e.id for e in every_entry(log, other)] == [entry.id]
    assert [e.id for e in every_entry(log, stream)] == [entry.id]


def test_a_group_reads_the_id_and_an_appended_again_entry_is_not_delivered_again(log, stream):
    entry = NewEntry("k", {"n": 1}, id=event_id())
    partition = partition_of("k", 3)
    ((_, offset),) = log.append(stream, [entry])
    (got,) = log.consume(stream, "g", "c1", [partition], 10)
    assert (got.id, got.offset, got.value) == (entry.id, offset, {"n": 1})
    log.commit(stream, "g", {partition: offset})
    assert log.append(stream, [entry]) == [(partition, offset)]
    assert log.consume(stream, "g", "c1", [partition], 10) == []


def test_many_ids_in_one_call(log, stream):
    entries = [NewEntry(f"k{n % 7}", {"n": n}, id=f"event-{n}") for n in range(1200)]
    positions = log.append(stream, entries)
    assert log.append(stream, entries[::3]) == positions[::3]
    assert len(every_entry(log, stream)) == 1200


# -- the brokers' dedup windows ---------------------------------------------------------------


def test_redis_remembers_an_id_for_its_dedup_window():
    from tests.edn_core.streams import adapter_redis

    client = adapter_redis.client_or_skip()
    prefix = f"edn:test:streams:{uuid.uuid4().hex}:"
    from edn_core.streams.redis import RedisLog

    log = RedisLog(client=client, prefix=prefix, dedup_window=timedelta(minutes=5))
    try:
        log.ensure("s", 1)
        log.append("s", [NewEntry("k", {"n": 1}, id="e-1")])
        ttl = client.pttl(f"{prefix}{{s}}:id:e-1")
        assert timedelta(minutes=4) < timedelta(milliseconds=ttl) <= timedelta(minutes=5)
    finally:
        client.delete(*client.scan_iter(match=f"{prefix}*"))
        log.close()


def test_nats_streams_are_created_with_the_dedup_window():
    from tests.edn_core.streams import adapter_nats

    log = adapter_nats.new_log(dedup_window=timedelta(minutes=5))
    try:
        log.ensure("s", 2)
        for partition in range(2):
            name = log.stream_name("s", partition)
            found = log.connection.run(log.connection.api(f"STREAM.INFO.{name}"))
            assert found["config"]["duplicate_window"] == 5 * 60 * 10**9
    finally:
        adapter_nats.drop(log)
