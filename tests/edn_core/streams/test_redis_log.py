"""What the Redis Streams adapter does beyond the contract: how Redis ids become offsets and
times, what its pending lists hold when consumers die and partitions move, and retention on
ids. Entries with chosen ids are added straight to the partition's Redis stream, so that no
test depends on the clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from edn_core.streams.port import NewEntry, partition_of
from edn_core.streams.redis import RedisLog
from edn_core.streams.redis_ids import SEQ_BITS, appended_at, id_of, ms_after, offset_of
from tests.edn_core.streams import adapter_redis
from tests.edn_core.streams.test_contract import keys_in, new_name, put, read_all

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.fixture
def log(request):
    yield from adapter_redis.make(request)


@pytest.fixture
def stream(log):
    name = new_name()
    log.ensure(name, 2)
    return name


def add_raw(log: RedisLog, stream: str, partition: int, entry_id: str, n: int) -> int:
    """Add an entry with the id ``entry_id`` to the partition, as the adapter would."""
    fields = {"k": keys_in(partition, 2)[0], "v": json.dumps({"n": n})}
    return offset_of(log.redis.xadd(log.key(stream, partition), fields, id=entry_id))


def pending(log: RedisLog, stream: str, group: str, partition: int) -> dict[str, str]:
    """The group's pending entries of a partition: Redis id -> the consumer holding it."""
    rows = log.redis.xpending_range(log.key(stream, partition), group, "-", "+", 1000)
    return {row["message_id"]: row["consumer"] for row in rows}


# -- ids and offsets --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry_id", ["0-0", "0-1", "1-0", "1796121218627-0", "1796121218627-5", f"9-{2**SEQ_BITS - 1}"]
)
def test_an_id_and_its_offset_round_trip(entry_id):
    assert id_of(offset_of(entry_id)) == entry_id
    assert offset_of(id_of(offset_of(entry_id))) == offset_of(entry_id)


def test_offsets_keep_the_order_of_ids_and_every_integer_is_an_id():
    ids = ["0-0", "0-7", "1-0", "1-1", f"1-{2**SEQ_BITS - 1}", "2-0", "1796121218627-3"]
    offsets = [offset_of(i) for i in ids]
    assert offsets == sorted(set(offsets))
    for offset in (*offsets, 1, 12345, 2**62 + 3):
        assert offset_of(id_of(offset)) == offset
    assert id_of(-5) == "0-0"
    assert offset_of("1796121218627-0") < 2**63, "fits a signed 64-bit column"


def test_an_id_whose_sequence_does_not_fit_is_refused_not_misordered():
    with pytest.raises(OverflowError):
        offset_of(f"5-{2**SEQ_BITS}")


def test_times_come_from_the_ids_millisecond():
    assert appended_at("1500-9") == EPOCH + timedelta(milliseconds=1500)
    assert ms_after(EPOCH + timedelta(milliseconds=1500)) == 1500
    assert ms_after(EPOCH + timedelta(milliseconds=1500, microseconds=1)) == 1501
    with pytest.raises(ValueError):
        ms_after(datetime(2026, 1, 1))  # naive on purpose


def test_appended_entries_carry_their_redis_ids(log, stream):
    positions = log.append(stream, [NewEntry(f"k{n}", {"n": n}, {"h": "v"}) for n in range(20)])
    for partition in (0, 1):
        raw = log.redis.xrange(log.key(stream, partition))
        mine = [offset for p, offset in positions if p == partition]
        assert [offset_of(i) for i, _ in raw] == mine
        entries = read_all(log, stream, partition)
        assert [e.appended_at for e in entries] == [appended_at(i) for i, _ in raw]
        assert all(partition_of(e.key, 2) == partition for e in entries)


# -- replay from a time and retention, on chosen ids ------------------------------------------


def test_offset_at_and_trim_work_on_the_ids_millisecond(log, stream):
    offsets = [
        add_raw(log, stream, 0, i, n)
        for n, i in enumerate(["1000-0", "1000-1", "1001-0", "1005-0"])
    ]
    at = lambda ms, us=0: EPOCH + timedelta(milliseconds=ms, microseconds=us)  # noqa: E731
    assert log.offset_at(stream, 0, at(1000)) == 0
    assert log.offset_at(stream, 0, at(1000, 1)) == offsets[1], "both were appended in ms 1000"
    assert log.offset_at(stream, 0, at(1001)) == offsets[1]
    assert log.offset_at(stream, 0, at(1004)) == offsets[2]
    assert log.offset_at(stream, 0, at(9000)) == offsets[3]
    assert log.trim(stream, before=at(1000, 1)) == 2
    assert [e.offset for e in read_all(log, stream, 0)] == offsets[2:]
    assert log.trim(stream, before=at(1005)) == 1
    assert log.info(stream).last_offsets[0] == offsets[3]


def test_trimmed_entries_leave_the_pending_list_when_a_consumer_takes_over(log, stream):
    offsets = [add_raw(log, stream, 0, f"{2000 + n}-0", n) for n in range(10)]
    group = new_name("g")
    assert len(log.consume(stream, group, "c1", [0], 10)) == 10
    assert log.trim(stream, before=EPOCH + timedelta(milliseconds=2008)) == 8
    # XAUTOCLAIM counts the trimmed ids it meets against its COUNT: the adapter goes on
    assert [e.offset for e in log.consume(stream, group, "c2", [0], 2)] == offsets[8:]
    assert set(pending(log, stream, group, 0).values()) == {"c2"}
    log.commit(stream, group, {0: offsets[9]})
    assert pending(log, stream, group, 0) == {}


# -- consumers dying, partitions moving -------------------------------------------------------


def test_a_dead_consumers_pending_entries_go_to_the_partitions_new_owner_at_once(log, stream):
    (key0,), (key1,) = keys_in(0, 2), keys_in(1, 2)
    put(log, stream, key0, 4)
    put(log, stream, key1, 3)
    zero, one, group = read_all(log, stream, 0), read_all(log, stream, 1), new_name("g")
    assert log.consume(stream, group, "c1", [0, 1], 100) == zero + one
    # c1 dies holding everything; c2 takes partition 0 only: no idle time is waited for
    assert log.consume(stream, group, "c2", [0], 100) == zero
    assert set(pending(log, stream, group, 0).values()) == {"c2"}
    assert set(pending(log, stream, group, 1).values()) == {"c1"}, "partition 1 is not c2's"
    # c2 dies after taking two of them; c3 gets the whole partition, from both dead holders
    log.consume(stream, group, "c1", [0], 100)
    assert log.consume(stream, group, "c2", [0], 2) == zero[:2]
    assert sorted(pending(log, stream, group, 0).values()) == ["c1", "c1", "c2", "c2"]
    assert log.consume(stream, group, "c3", [0], 100) == zero
    log.commit(stream, group, {0: zero[2].offset})
    assert list(pending(log, stream, group, 0)) == [id_of(zero[3].offset)]
    consumers = log.redis.xinfo_consumers(log.key(stream, 0), group)
    assert [c["name"] for c in consumers] == ["c3"], "those holding nothing are forgotten"
    assert log.committed(stream, group) == {0: zero[2].offset, 1: 0}


def test_committing_past_what_was_delivered_moves_the_groups_last_delivered_id(log, stream):
    (key,) = keys_in(0, 2)
    put(log, stream, key, 5)
    entries, group = read_all(log, stream, 0), new_name("g")
    log.consume(stream, group, "c1", [0], 1)
    log.commit(stream, group, {0: entries[3].offset})
    (info,) = log.redis.xinfo_groups(log.key(stream, 0))
    assert (info["last-delivered-id"], info["pending"]) == (id_of(entries[3].offset), 0)
    assert log.consume(stream, group, "c1", [0], 10) == entries[4:]


def test_a_group_deleted_by_another_instance_is_made_again(log, stream):
    (key,) = keys_in(1, 2)
    put(log, stream, key, 3)
    entries, group = read_all(log, stream, 1), new_name("g")
    log.commit(stream, group, {1: entries[0].offset})
    other = RedisLog(client=log.redis, prefix=log.prefix)
    other.delete_group(stream, group)
    assert log.consume(stream, group, "c1", [1], 10) == entries, "it starts from offset 0"
    log.commit(stream, group, {1: entries[1].offset})
    assert other.committed(stream, group) == {0: 0, 1: entries[1].offset}


def test_the_limit_is_shared_between_partitions_and_filled_from_those_with_more(log):
    name = new_name()
    log.ensure(name, 4)
    (key,) = keys_in(3, 4)
    put(log, name, key, 30)
    group = new_name("g")
    assert [e.value["n"] for e in log.consume(name, group, "c1", range(4), 10)] == list(range(10))
    for partition in (0, 1):
        put(log, name, keys_in(partition, 4)[0], 30)
    # c1 died: its pending entries come first, and nothing new is read beyond the limit
    batch = log.consume(name, group, "c2", range(4), 9)
    assert [(e.partition, e.value["n"]) for e in batch] == [(3, n) for n in range(9)]
    log.commit(name, group, {3: batch[-1].offset})
    batch = log.consume(name, group, "c2", range(4), 9)
    assert [len([e for e in batch if e.partition == p]) for p in range(4)] == [3, 3, 0, 3]
    assert [e.value["n"] for e in batch if e.partition == 3] == [9, 10, 11]


def test_each_instance_sees_only_the_streams_under_its_prefix(log, stream):
    other = RedisLog(client=log.redis, prefix=f"{log.prefix}other:")
    try:
        assert other.streams() == []
        other.ensure(stream, 3)  # the same name, another prefix: another stream
        assert log.info(stream).partitions == 2
    finally:
        other.redis.delete(*other.redis.keys(f"{other.prefix}*"))


def test_entries_of_one_millisecond_come_in_sequence_order_not_text_order(log, stream):
    offsets = [add_raw(log, stream, 0, f"3000-{seq}", seq) for seq in range(12)]
    offsets += [add_raw(log, stream, 1, f"3000-{seq}", seq) for seq in range(3)]
    batch = log.consume(stream, new_name("g"), "c1", [0, 1], 14)
    assert [(e.partition, e.value["n"]) for e in batch] == [
        *((0, n) for n in range(11)),
        *((1, n) for n in range(3)),
    ]
    assert [e.offset for e in batch if e.partition == 0] == offsets[:11]


def test_consuming_and_committing_batches_delivers_each_entry_once_in_order(log, stream):
    log.append(stream, [NewEntry(f"order-{n % 9}", {"n": n}) for n in range(600)])
    group, seen = new_name("g"), []
    for _ in range(1000):  # a deadlock guard
        batch = log.consume(stream, group, "c1", [0, 1], 50)
        if not batch:
            break
        seen += batch
        log.commit(stream, group, {e.partition: e.offset for e in batch})
    assert sorted(e.value["n"] for e in seen) == list(range(600))
    for partition in (0, 1):
        assert [e for e in seen if e.partition == partition] == read_all(log, stream, partition)


def test_a_limit_not_a_multiple_of_the_partitions_leaves_nothing_pending_after_a_commit(log):
    name, group = new_name(), new_name("g")
    log.ensure(name, 4)
    for partition in range(4):
        put(log, name, keys_in(partition, 4)[0], 30)
    seen = []
    for _ in range(100):  # a deadlock guard
        batch = log.consume(name, group, "c1", range(4), 10)
        if not batch:
            break
        assert len(batch) <= 10
        seen += batch
        log.commit(name, group, {e.partition: e.offset for e in batch})
        left = [pending(log, name, group, partition) for partition in range(4)]
        assert left == [{}] * 4, "only what a consume returned was read, and all was committed"
    assert len(seen) == 120
    for partition in range(4):
        assert [e for e in seen if e.partition == partition] == read_all(log, name, partition)
