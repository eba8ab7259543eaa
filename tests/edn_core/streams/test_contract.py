"""The streams contract: what every ``StreamLog`` adapter does (edn_core/streams/port.py).

Each test works on streams of its own (random names), so it never sees another test's data.
Time is never slept on: where a test needs entries appended at different times it appends
until the log itself reports different ``appended_at`` values, and computes what it expects
from the times read back.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from edn_core.streams.port import Entry, NewEntry, StreamLog, UnknownStream, partition_of

GUARD = 10_000  # appends or batches before a loop gives up: a deadlock guard, not a measure


def new_name(prefix: str = "s") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def keys_in(partition: int, partitions: int, count: int = 1, tag: str = "k") -> list[str]:
    """``count`` distinct keys whose entries land in ``partition``."""
    keys, n = [], 0
    while len(keys) < count:
        key = f"{tag}-{n}"
        if partition_of(key, partitions) == partition:
            keys.append(key)
        n += 1
    return keys


def put(log: StreamLog, stream: str, key: str, count: int, start: int = 0) -> list[tuple]:
    """Append ``count`` entries of ``key`` numbered ``start...`` in one call."""
    entries = [NewEntry(key, {"n": start + i}) for i in range(count)]
    return log.append(stream, entries)


def read_all(log: StreamLog, stream: str, partition: int, after: int = 0) -> list[Entry]:
    return log.read(stream, partition, after, 100_000)


def at_distinct_times(log: StreamLog, stream: str, keys: list[str], times: int) -> list[Entry]:
    """Append one entry per key per call until the log reports ``times`` different
    ``appended_at`` values; return every entry of the stream as read back."""
    partitions = log.info(stream).partitions
    for n in range(GUARD):
        log.append(stream, [NewEntry(key, {"n": n}) for key in keys])
        entries = [e for p in range(partitions) for e in read_all(log, stream, p)]
        if len({e.appended_at for e in entries}) >= times:
            return entries
    raise AssertionError(f"the log reported fewer than {times} append times in {GUARD} appends")


def cut_in_every_partition(log: StreamLog, stream: str, keys: list[str]) -> tuple[list, object]:
    """Append one entry per key per call until some append time has entries of every
    partition before it and at or after it; return every entry and that time."""
    partitions = log.info(stream).partitions
    for n in range(GUARD):
        log.append(stream, [NewEntry(key, {"n": n}) for key in keys])
        entries = [e for p in range(partitions) for e in read_all(log, stream, p)]
        times = [[e.appended_at for e in entries if e.partition == p] for p in range(partitions)]
        first, last = max(min(t) for t in times), min(max(t) for t in times)
        cut = min((e.appended_at for e in entries if e.appended_at > first), default=None)
        if cut is not None and cut <= last:
            return entries, cut
    raise AssertionError(f"the log reported too few append times in {GUARD} appends")


@pytest.fixture
def stream(log: StreamLog) -> str:
    name = new_name()
    log.ensure(name, 3)
    return name


# -- streams ----------------------------------------------------------------------------------


def test_ensure_is_idempotent_and_refuses_another_partition_count(log):
    name = new_name()
    log.ensure(name, 3)
    log.ensure(name, 3)
    info = log.info(name)
    assert (info.name, info.partitions) == (name, 3)
    assert info.last_offsets == {0: 0, 1: 0, 2: 0}
    assert info.lengths == {0: 0, 1: 0, 2: 0}
    with pytest.raises(ValueError):
        log.ensure(name, 4)
    assert log.info(name).partitions == 3


def test_an_unknown_stream_is_refused(log):
    name = new_name()
    with pytest.raises(UnknownStream):
        log.info(name)
    with pytest.raises(UnknownStream):
        log.append(name, [NewEntry("k", {"n": 1})])
    assert name not in log.streams()
    assert issubclass(UnknownStream, LookupError)


def test_streams_lists_every_stream_sorted(log):
    first, second = new_name("b"), new_name("a")
    log.ensure(first, 1)
    log.ensure(second, 2)
    names = log.streams()
    assert {first, second} <= set(names)
    assert names == sorted(names)


def test_info_gives_each_partitions_last_offset_and_length(log, stream):
    (key0,), (key2,) = keys_in(0, 3), keys_in(2, 3)
    positions = put(log, stream, key0, 4) + put(log, stream, key2, 2)
    info = log.info(stream)
    assert info.partitions == 3
    assert info.last_offsets == {0: positions[3][1], 1: 0, 2: positions[5][1]}
    assert info.lengths == {0: 4, 1: 0, 2: 2}


# -- appending and reading --------------------------------------------------------------------


def test_append_returns_each_entrys_partition_and_increasing_offsets(log):
    name = new_name()
    log.ensure(name, 4)
    assert log.append(name, []) == []
    keys = [f"order-{n % 7}" for n in range(40)]
    positions = log.append(name, [NewEntry(k, {"n": n}) for n, k in enumerate(keys)])
    positions += log.append(name, [NewEntry(k, {"n": n}) for n, k in enumerate(keys)])
    assert len(positions) == 80
    assert [p for p, _ in positions] == [partition_of(k, 4) for k in keys + keys]
    for partition in range(4):
        offsets = [o for p, o in positions if p == partition]
        assert all(o > 0 for o in offsets)
        assert offsets == sorted(set(offsets)), "offsets strictly increase in append order"


def test_entries_read_back_in_offset_order_with_every_field(log, stream):
    (key,) = keys_in(1, 3)
    values = [
        {"n": 0, "text": "crème brûlée ✓", "nested": {"list": [1, 2.5, None, True]}},
        {"n": 1, "empty": {}, "zero": 0, "false": False},
        {"n": 2},
    ]
    headers = [{"traceparent": "00-abc-def-01", "type": "v1.OrderPlaced"}, {}, {"h": "é"}]
    new = [NewEntry(key, v, h) for v, h in zip(values, headers, strict=True)]
    new.append(NewEntry(key, {"n": 3}))  # headers left out: an empty mapping
    positions = log.append(stream, new)
    entries = read_all(log, stream, 1)
    assert [(e.partition, e.offset) for e in entries] == positions
    assert [e.stream for e in entries] == [stream] * 4
    assert [e.key for e in entries] == [key] * 4
    assert [e.value for e in entries] == [*values, {"n": 3}]
    assert [e.headers for e in entries] == [*headers, {}]
    for entry in entries:
        assert entry.appended_at.tzinfo is not None
        assert entry.appended_at.utcoffset() == timedelta(0)
    times = [e.appended_at for e in entries]
    assert times == sorted(times), "append times never go back within a partition"
    assert read_all(log, stream, 0) == [] and read_all(log, stream, 2) == []


def test_read_pages_through_a_partition(log, stream):
    (key,) = keys_in(0, 3)
    put(log, stream, key, 7)
    everything = read_all(log, stream, 0)
    pages, after = [], 0
    for _ in range(10):
        page = log.read(stream, 0, after, 3)
        if not page:
            break
        assert len(page) <= 3
        pages.append(page)
        after = page[-1].offset
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [e for page in pages for e in page] == everything
    assert log.read(stream, 0, everything[-1].offset, 3) == []
    assert log.read(stream, 0, everything[2].offset, 2) == everything[3:5]


def test_entries_of_a_key_keep_their_order(log):
    name = new_name()
    log.ensure(name, 2)
    keys = [f"customer-{n}" for n in range(5)]
    sent = {key: 0 for key in keys}
    for round_ in range(4):
        batch = []
        for n in range(15):
            key = keys[(n * (round_ + 1)) % len(keys)]
            batch.append(NewEntry(key, {"n": sent[key]}))
            sent[key] += 1
        log.append(name, batch)
    for key in keys:
        entries = [e for e in read_all(log, name, partition_of(key, 2)) if e.key == key]
        assert [e.value["n"] for e in entries] == list(range(sent[key]))


def test_a_large_batch(log):
    name = new_name()
    log.ensure(name, 4)
    new = [NewEntry(f"order-{n % 50}", {"n": n, "pad": "x" * 50}) for n in range(1000)]
    positions = log.append(name, new)
    assert len(set(positions)) == 1000
    read = {}
    for partition in range(4):
        after = 0
        while page := log.read(name, partition, after, 300):
            read |= {(e.partition, e.offset): e.value["n"] for e in page}
            after = page[-1].offset
    assert [read[position] for position in positions] == list(range(1000))


# -- replay from a time, retention ------------------------------------------------------------


def test_offset_at_finds_where_to_replay_from_a_time(log):
    name = new_name()
    log.ensure(name, 2)
    (key,) = keys_in(0, 2)
    entries = at_distinct_times(log, name, [key], 3)
    assert {e.partition for e in entries} == {0}
    for entry in entries:
        when = entry.appended_at
        before = [e.offset for e in entries if e.appended_at < when]
        assert log.offset_at(name, 0, when) == max(before, default=0)
        replay = log.read(name, 0, log.offset_at(name, 0, when), 100_000)
        assert replay == [e for e in entries if e.appended_at >= when]
    assert log.offset_at(name, 0, entries[0].appended_at - timedelta(seconds=1)) == 0
    later = entries[-1].appended_at + timedelta(seconds=1)
    assert log.offset_at(name, 0, later) == entries[-1].offset
    assert log.offset_at(name, 1, later) == 0, "an empty partition: replay from the start"


def test_trim_removes_older_entries_and_keeps_the_offsets_of_the_rest(log):
    name = new_name()
    log.ensure(name, 2)
    keys = [keys_in(0, 2)[0], keys_in(1, 2)[0]]
    entries, cut = cut_in_every_partition(log, name, keys)
    removed = [e for e in entries if e.appended_at < cut]
    kept = [e for e in entries if e.appended_at >= cut]
    ends = log.info(name).last_offsets
    assert log.trim(name, before=cut) == len(removed)
    info = log.info(name)
    assert info.last_offsets == ends
    for partition in (0, 1):
        mine = [e for e in kept if e.partition == partition]
        assert info.lengths[partition] == len(mine)
        assert read_all(log, name, partition) == mine
        gone = [e for e in removed if e.partition == partition]
        assert read_all(log, name, partition, after=gone[0].offset) == mine
    assert log.trim(name, before=cut) == 0
    assert log.trim(name, before=entries[-1].appended_at + timedelta(seconds=1)) == len(kept)
    assert log.info(name).lengths == {0: 0, 1: 0}
    assert log.info(name).last_offsets == ends, "the last offsets survive retention"
    ((partition, offset),) = log.append(name, [NewEntry(keys[0], {"n": "after"})])
    assert offset > ends[partition], "offsets never go back, even after everything was trimmed"
    assert [e.value for e in read_all(log, name, partition)] == [{"n": "after"}]


# -- consumer groups --------------------------------------------------------------------------


def test_a_new_group_has_committed_nothing(log, stream):
    assert log.groups(stream) == []
    assert log.committed(stream, new_name("g")) == {0: 0, 1: 0, 2: 0}


def test_consume_gives_the_entries_after_the_committed_offset(log, stream):
    (key,) = keys_in(2, 3)
    group = new_name("g")
    assert log.consume(stream, group, "c1", [0, 1, 2], 10) == []
    put(log, stream, key, 5)
    entries = read_all(log, stream, 2)
    assert log.consume(stream, group, "c1", [2], 10) == entries
    log.commit(stream, group, {2: entries[1].offset})
    assert log.committed(stream, group) == {0: 0, 1: 0, 2: entries[1].offset}
    assert log.consume(stream, group, "c1", [2], 10) == entries[2:]
    log.commit(stream, group, {2: entries[-1].offset})
    assert log.consume(stream, group, "c1", [2], 10) == []
    put(log, stream, key, 2, start=5)
    assert log.consume(stream, group, "c1", [2], 10) == read_all(log, stream, 2)[5:]
    assert log.groups(stream) == [group]


def test_consume_reads_only_the_given_partitions_each_in_order(log, stream):
    for partition in range(3):
        for key in keys_in(partition, 3, count=2):
            put(log, stream, key, 4)
    group = new_name("g")
    owned = {p: read_all(log, stream, p) for p in (0, 2)}
    batch = log.consume(stream, group, "c1", [0, 2], 5)
    assert 0 < len(batch) <= 5
    for partition in (0, 1, 2):
        mine = [e for e in batch if e.partition == partition]
        assert mine == owned.get(partition, [])[: len(mine)], "a prefix of what is left"
    seen: list[Entry] = []
    for _ in range(GUARD):
        batch = log.consume(stream, group, "c1", [0, 2], 5)
        if not batch:
            break
        assert len(batch) <= 5
        seen += batch
        ends: dict[int, int] = {}
        for entry in batch:
            ends[entry.partition] = max(ends.get(entry.partition, 0), entry.offset)
        log.commit(stream, group, ends)
    assert sorted(seen, key=lambda e: (e.partition, e.offset)) == owned[0] + owned[2]
    assert log.committed(stream, group) == {0: owned[0][-1].offset, 1: 0, 2: owned[2][-1].offset}


def test_uncommitted_entries_are_delivered_again_after_a_restart(log, stream):
    (key,) = keys_in(0, 3)
    put(log, stream, key, 6)
    entries, group = read_all(log, stream, 0), new_name("g")
    assert log.consume(stream, group, "c1", [0], 4) == entries[:4]
    # c1 restarts without committing: it gets the same entries first
    assert log.consume(stream, group, "c1", [0], 4) == entries[:4]
    assert log.consume(stream, group, "c1", [0], 2) == entries[:2]
    log.commit(stream, group, {0: entries[1].offset})
    assert log.consume(stream, group, "c1", [0], 10) == entries[2:]


def test_another_consumer_takes_over_what_a_dead_one_had_at_once(log, stream):
    (key,) = keys_in(1, 3)
    put(log, stream, key, 6)
    entries, group = read_all(log, stream, 1), new_name("g")
    assert log.consume(stream, group, "c1", [1], 4) == entries[:4]
    # c1 dies; c2 now owns partition 1 and gets c1's entries first, then the new ones
    assert log.consume(stream, group, "c2", [1], 2) == entries[:2]
    assert log.consume(stream, group, "c2", [1], 10) == entries
    log.commit(stream, group, {1: entries[2].offset})
    assert log.consume(stream, group, "c3", [1], 10) == entries[3:]


def test_committing_a_lower_offset_changes_nothing(log, stream):
    (key,) = keys_in(0, 3)
    put(log, stream, key, 5)
    entries, group = read_all(log, stream, 0), new_name("g")
    log.commit(stream, group, {0: entries[3].offset})
    log.commit(stream, group, {0: entries[1].offset})
    assert log.committed(stream, group)[0] == entries[3].offset
    assert log.consume(stream, group, "c1", [0], 10) == entries[4:]


def test_reset_moves_the_committed_offsets_down_and_up(log, stream):
    (key0,), (key1,) = keys_in(0, 3), keys_in(1, 3)
    put(log, stream, key0, 6)
    put(log, stream, key1, 2)
    zero, one, group = read_all(log, stream, 0), read_all(log, stream, 1), new_name("g")
    log.commit(stream, group, {0: zero[3].offset, 1: one[1].offset})
    log.reset(stream, group, {0: 0})
    assert log.committed(stream, group) == {0: 0, 1: one[1].offset, 2: 0}
    assert log.consume(stream, group, "c1", [0, 1], 100) == zero
    # delivered to c1 and not committed; a reset forgets that
    log.reset(stream, group, {0: zero[4].offset})
    assert log.committed(stream, group)[0] == zero[4].offset
    assert log.consume(stream, group, "c1", [0], 100) == zero[5:]
    assert log.consume(stream, group, "c2", [0], 100) == zero[5:]
    log.reset(stream, group, {0: zero[1].offset, 1: 0})
    assert log.committed(stream, group) == {0: zero[1].offset, 1: 0, 2: 0}
    assert log.consume(stream, group, "c2", [0], 100) == zero[2:]
    assert log.consume(stream, group, "c2", [1], 100) == one


def test_groups_are_independent(log, stream):
    (key,) = keys_in(2, 3)
    put(log, stream, key, 4)
    entries = read_all(log, stream, 2)
    first, second = new_name("g"), new_name("g")
    assert log.consume(stream, first, "c1", [2], 10) == entries
    log.commit(stream, first, {2: entries[-1].offset})
    assert log.consume(stream, second, "c1", [2], 10) == entries
    log.commit(stream, second, {2: entries[0].offset})
    log.reset(stream, second, {2: entries[1].offset})
    assert log.committed(stream, first) == {0: 0, 1: 0, 2: entries[-1].offset}
    assert log.committed(stream, second) == {0: 0, 1: 0, 2: entries[1].offset}
    assert log.groups(stream) == sorted([first, second])
    other = new_name()  # a group of the same name on another stream is another group
    log.ensure(other, 3)
    put(log, other, key, 1)
    assert log.committed(other, first) == {0: 0, 1: 0, 2: 0}
    assert [e.key for e in log.consume(other, first, "c1", [2], 10)] == [key]


def test_delete_group_forgets_it(log, stream):
    (key,) = keys_in(0, 3)
    put(log, stream, key, 3)
    entries, gone, stays = read_all(log, stream, 0), new_name("g"), new_name("g")
    for group in (gone, stays):
        assert log.consume(stream, group, "c1", [0], 2) == entries[:2]
        log.commit(stream, group, {0: entries[1].offset})
    assert log.consume(stream, gone, "c1", [0], 10) == entries[2:]  # delivered, not committed
    log.delete_group(stream, gone)
    assert log.groups(stream) == [stays]
    assert log.committed(stream, gone) == {0: 0, 1: 0, 2: 0}
    assert log.consume(stream, gone, "c2", [0], 10) == entries
    assert log.committed(stream, stays) == {0: entries[1].offset, 1: 0, 2: 0}
    assert log.consume(stream, stays, "c1", [0], 10) == entries[2:]


def test_any_key_round_trips(log):
    name = new_name()
    log.ensure(name, 3)
    keys = ["order.1", "with space", "ünïcødé", "*", ">", "a/b:c", "x" * 200]
    positions = log.append(name, [NewEntry(key, {"key": key}) for key in keys])
    assert [p for p, _ in positions] == [partition_of(key, 3) for key in keys]
    for key, (partition, offset) in zip(keys, positions, strict=True):
        (entry,) = [e for e in read_all(log, name, partition) if e.offset == offset]
        assert (entry.key, entry.value) == (key, {"key": key})


def test_streams_are_independent(log):
    first, second = new_name(), new_name()
    log.ensure(first, 2)
    log.ensure(second, 3)
    partition = partition_of("k", 2)
    put(log, first, "k", 3)
    entries = read_all(log, first, partition)
    assert log.info(second).lengths == log.info(second).last_offsets == {0: 0, 1: 0, 2: 0}
    log.commit(first, "g", {partition: entries[0].offset})
    assert log.committed(second, "g") == {0: 0, 1: 0, 2: 0}
    assert log.groups(second) == []
    assert log.trim(second, before=entries[-1].appended_at + timedelta(seconds=1)) == 0
    assert log.info(first).lengths[partition] == 3


def test_a_group_replays_from_a_time(log):
    name = new_name()
    log.ensure(name, 1)
    entries = at_distinct_times(log, name, ["k"], 3)
    group = new_name("g")
    log.commit(name, group, {0: entries[-1].offset})
    when = sorted({e.appended_at for e in entries})[1]
    log.reset(name, group, {0: log.offset_at(name, 0, when)})
    replay = log.consume(name, group, "c1", [0], 100_000)
    assert replay == [e for e in entries if e.appended_at >= when]
    assert 0 < len(replay) < len(entries)


def test_a_group_behind_the_retention_reads_from_the_first_kept_entry(log):
    name = new_name()
    log.ensure(name, 1)
    entries, cut = cut_in_every_partition(log, name, ["k"])
    behind, fresh = new_name("g"), new_name("g")
    log.commit(name, behind, {0: entries[0].offset})
    kept = [e for e in entries if e.appended_at >= cut]
    assert log.trim(name, before=cut) == len(entries) - len(kept)
    assert log.consume(name, behind, "c1", [0], 100_000) == kept
    assert log.consume(name, fresh, "c1", [0], 100_000) == kept
    groups = log.groups(name)
    log.delete_group(name, new_name("g"))  # a group that never was: nothing to forget
    assert log.groups(name) == groups and behind in groups
