"""The processor runtime's store on its own (``Store.write``'s set-based statements, on the
run's backend): positions move only over the versions loaded, and a batch whose partitions
are not all at their loaded version writes nothing; windows are upserted and deleted."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from edn_core.streams.pipeline import Position
from edn_core.streams.pipeline_state import Result
from edn_core.streams.runtime_batches import Batch, StalePartitions
from edn_core.streams.runtime_models import ProcessorWindowBase
from edn_core.streams.runtime_store import Store
from tests.edn_core.streams import runtime_support as support
from tests.edn_core.streams.adapter_database import DATABASE

pytestmark = DATABASE
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def store() -> Store:
    name = f"stats-{uuid.uuid4().hex[:8]}"
    return Store(support.processor(name, f"orders-{uuid.uuid4().hex[:8]}"))


def batch(positions: dict, upserts=None, deletes=()) -> Batch:
    return Batch(Result(positions, dict(upserts or {}), list(deletes), [], []))


def windows(store: Store) -> dict:
    rows = store.rows(ProcessorWindowBase).values_list("partition", "key", "start", "end", "value")
    return {tuple(row[:4]): row[4] for row in rows}


def test_positions_and_windows_are_written_and_read_back(store):
    state, versions, _ = store.load([0, 1, 2])
    assert versions == {0: 0, 1: 0, 2: 0}
    first = {(0, "p'1", 0, 60): {"n": 1}, (1, "p2", 0, 60): {"n": 2}, (1, "p2", 60, 120): {}}
    written = store.write(
        batch({0: Position(5, 60, 1), 1: Position(7, None, 0)}, first), versions, NOW
    )
    assert written == {0: 1, 1: 1}
    more = {(0, "p'1", 0, 60): {"n": 3}, (2, "p3", 0, 60): {"n": 1}}
    store.write(batch({0: Position(9, 70, 1)}, more, [(1, "p2", 0, 60)]), written, NOW)
    state, versions, _ = store.load([0, 1, 2])
    assert versions == {0: 2, 1: 1, 2: 0}
    assert state.partition(0).position == Position(9, 70, 1)
    assert state.partition(1).position == Position(7, None, 0)
    assert windows(store) == {
        (0, "p'1", 0, 60): {"n": 3},
        (1, "p2", 60, 120): {},
        (2, "p3", 0, 60): {"n": 1},
    }


def test_one_partition_not_at_its_loaded_version_refuses_the_whole_batch(store):
    _, versions, _ = store.load([0, 1, 2])
    store.write(batch({1: Position(3)}), versions, NOW)  # another member moved partition 1
    before = windows(store)
    stale = batch({0: Position(4), 1: Position(4), 2: Position(4)}, {(0, "k", 0, 1): {"n": 1}})
    with pytest.raises(StalePartitions) as refused:
        store.write(stale, versions, NOW)
    assert refused.value.partitions == [1]
    state, now_versions, _ = store.load([0, 1, 2])
    assert now_versions == {0: 0, 1: 1, 2: 0}, "nothing of the batch was written"
    assert [state.partition(p).position.offset for p in range(3)] == [0, 3, 0]
    assert windows(store) == before
