"""Where stream processing goes wrong, on the database log of the run's backend: a processor
refuses a batch size or attempts below 1 and a second declaration under a known name; its
outputs go to its own ``write`` or to the default results table, where a retraction deletes
the window's row. A run that fails (a database outage) gives its partitions back, forgets its
state and starts over after a growing wait (``errors="retry"``), or raises (``"raise"``),
and goes on when releasing the partitions fails too; the one-process server drops a hosted
processor whose round failed and starts it again on the next round. The waits are recorded,
not waited: the run's stop event answers at once."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import OperationalError

from edn_core.bus.stores import find_model
from edn_core.streams import inprocess, processors, runtime
from edn_core.streams.database import DatabaseLog
from edn_core.streams.leases import PartitionLeases
from edn_core.streams.pipeline import Output
from edn_core.streams.processors import Processor, register
from edn_core.streams.runtime_models import WindowResultBase
from tests.edn_core.streams import runtime_support as support
from tests.edn_core.streams.adapter_database import ALIAS, COMMITTING, DATABASE

PARTITIONS, ORDERS = 4, 200
WINDOW = (support.T0, support.T0 + support.MINUTE)


class Waits(threading.Event):
    """A stop event that records each wait and returns at once (after ``during()``: what
    the test checks while the run waits)."""

    def __init__(self, during=lambda: None) -> None:
        super().__init__()
        self.waited: list[float] = []
        self.during = during

    def wait(self, timeout=None) -> bool:
        self.waited.append(timeout)
        self.during()
        return self.is_set()


class Outage:
    """The database log, unreachable on the ``failing`` calls of ``consume`` (1-based)."""

    def __init__(self, log: DatabaseLog, failing: set[int]) -> None:
        self.log, self.failing, self.calls = log, failing, 0

    def __getattr__(self, name):
        return getattr(self.log, name)

    def consume(self, *args):
        self.calls += 1
        if self.calls in self.failing:
            raise OperationalError("the database went away")
        return self.log.consume(*args)


class ReleaseFailsOnce(PartitionLeases):
    """Leases whose first release fails (the lease connection is gone)."""

    failed = False

    def release(self) -> None:
        if not self.failed:
            self.failed = True
            raise OperationalError("the lease connection is gone")
        super().release()


@pytest.fixture
def log():
    log = DatabaseLog(support.APP, ALIAS)
    yield log
    log.close()


@pytest.fixture
def stream(log) -> str:
    name = f"orders-{uuid.uuid4().hex[:8]}"
    log.ensure(name, PARTITIONS)
    log.append(name, support.orders(ORDERS))
    return name


def name() -> str:
    return f"stats-{uuid.uuid4().hex[:8]}"


def free(stream: str, group: str) -> set[int]:
    """The partitions another member of ``group`` can take now."""
    with PartitionLeases(ALIAS, stream, group, PARTITIONS) as other:
        return other.acquire()


def results(processor: str):
    model = find_model(support.APP, WindowResultBase)
    return model._default_manager.using(ALIAS).filter(processor=processor)


def caught_up(round_) -> bool:
    return round_.consumed == 0


def test_a_processor_refuses_a_batch_size_or_attempts_below_one():
    """A batch size or attempts of 0 is refused when declared; 1 is enough."""
    for options in ({"batch_size": 0}, {"attempts": 0}):
        with pytest.raises(ValueError, match="at least 1"):
            support.processor("stats", "orders", **options)
    assert support.processor("stats", "orders", batch_size=1, attempts=1).group == "stats"


def test_a_name_is_declared_once():
    """The same declaration again is a no-op; another one under a known name is refused."""
    first = register(support.processor(name(), "orders"))
    assert register(first) is first
    with pytest.raises(ValueError, match=f"{first.name} is already registered"):
        register(support.processor(first.name, "orders", batch_size=7))
    assert processors.get(first.name) is first


@DATABASE
def test_a_processor_s_own_write_gets_its_outputs_instead_of_the_results_table():
    """``write`` is called with the outputs and the alias; the default table stays empty."""
    written = []
    processor = support.processor(name(), "orders", write=lambda *a: written.append(a))
    outputs = [Output("final", 0, "p1", *WINDOW, {"orders": 2})]
    processor.write_outputs(outputs, ALIAS)
    assert written == [(outputs, ALIAS)] and not results(processor.name).exists()


@DATABASE
def test_the_results_table_keeps_each_window_s_latest_and_a_retraction_deletes_it():
    """Default results: a window's last output wins; a retraction deletes that window's row
    of that processor only."""
    one, other = (
        Processor(
            name=name(), stream="orders", aggregation=support.PER_PRODUCT, app_label="analytics"
        )
        for _ in range(2)
    )
    for processor in (one, other):
        processor.write_outputs(
            [
                Output("update", 0, "p1", *WINDOW, {"orders": 1}),
                Output("update", 0, "p2", *WINDOW, {"orders": 1}),
                Output("final", 0, "p2", *WINDOW, {"orders": 2}),
            ],
            ALIAS,
        )
    assert sorted(results(one.name).values_list("key", "final", "value")) == [
        ("p1", False, {"orders": 1}),
        ("p2", True, {"orders": 2}),
    ]
    one.write_outputs([Output("retract", 0, "p1", *WINDOW, None)], ALIAS)
    assert list(results(one.name).values_list("key", flat=True)) == ["p2"]
    assert sorted(results(other.name).values_list("key", flat=True)) == ["p1", "p2"]


@COMMITTING
def test_a_failing_run_starts_over_after_growing_waits_and_counts_each_entry_once(
    log, stream, caplog
):
    """Rounds 1, 2 and 4 fail: each time the partitions are free while the run waits 1 s,
    then 2 s, then 1 s again (a round succeeded in between); progress is told after each
    round that did not fail, and the run ends with every entry applied once (a final written
    twice would fail the processor's insert)."""
    processor = support.processor(name(), stream, batch_size=50)
    seen_free, progress = [], []
    stop = Waits(during=lambda: seen_free.append(free(stream, processor.group)))
    outage = Outage(log, {1, 2, 4})
    done = runtime.run(
        processor, outage, stop=stop, until=caught_up, progress=progress.append, poll=0
    )
    assert stop.waited == [1.0, 2.0, 1.0]
    assert seen_free == [set(range(PARTITIONS))] * 3
    assert [(p.done, p.lag) for p in progress] == [
        (50, 150),
        (100, 100),
        (150, 50),
        (200, 0),
        (200, 0),
    ]
    assert done == ORDERS
    assert support.stored(processor.name, ALIAS) == support.recompute(support.read_all(log, stream))
    assert f"stream processor {processor.name} failed; again in 2s" in caplog.text


@COMMITTING
def test_the_wait_after_failures_is_capped(log, stream, monkeypatch):
    """The wait doubles up to ``ERROR_WAIT_MAX``; once caught up, the run polls until
    stopped."""
    monkeypatch.setattr(runtime, "ERROR_WAIT_MAX", 3.0)

    def stop_once_polling() -> None:
        if stop.waited[-1] == 0.25:  # a round read nothing: caught up
            stop.set()

    stop = Waits(during=stop_once_polling)
    processor = support.processor(name(), stream)
    done = runtime.run(processor, Outage(log, {1, 2, 3, 4}), stop=stop, poll=0.25)
    assert stop.waited == [1.0, 2.0, 3.0, 3.0, 0.25] and done == ORDERS


@DATABASE
def test_the_lag_is_unknown_where_offsets_do_not_count_entries(log, stream):
    """Progress tells no lag on a log like Redis's, 0 with no partition owned, and the
    entries after the positions on the database log."""
    processor = support.processor(name(), stream)
    redis_like = Outage(log, set())
    redis_like.name = "redis"
    assert runtime.lag(redis_like, processor, {0: 1}) is None
    assert runtime.lag(log, processor, {}) == 0
    assert runtime.lag(log, processor, dict.fromkeys(range(PARTITIONS), 0)) == ORDERS


@COMMITTING
def test_errors_raise_gives_the_partitions_back_and_raises(log, stream):
    """``errors="raise"``: no wait, no retry; the partitions are free afterwards."""
    processor, stop = support.processor(name(), stream), Waits()
    with pytest.raises(OperationalError, match="went away"):
        runtime.run(processor, Outage(log, {1}), stop=stop, errors="raise", poll=0)
    assert stop.waited == [] and free(stream, processor.group) == set(range(PARTITIONS))


@COMMITTING
def test_a_run_goes_on_when_giving_the_partitions_back_fails(log, stream, caplog):
    """The failed release is logged; the partitions stay held during the wait; the state is
    loaded again and the run ends with every entry applied once, its partitions given back."""
    processor = support.processor(name(), stream)
    leases = ReleaseFailsOnce(ALIAS, stream, processor.group, PARTITIONS)
    seen_free = []
    stop = Waits(during=lambda: seen_free.append(free(stream, processor.group)))
    done = runtime.run(
        processor, Outage(log, {1}), stop=stop, until=caught_up, leases=leases, poll=0
    )
    assert f"releasing the partitions of {processor.name} failed" in caplog.text
    assert seen_free == [set()] and done == ORDERS
    assert support.stored(processor.name, ALIAS) == support.recompute(support.read_all(log, stream))
    assert free(stream, processor.group) == set(range(PARTITIONS))


@COMMITTING
def test_the_one_process_server_starts_a_failed_processor_again_next_round(
    log, stream, monkeypatch, caplog
):
    """Its first write fails: the round logs it, drops its runner and frees its partitions;
    the next round runs a new runner over the whole backlog (nothing was kept), once."""
    monkeypatch.setattr(processors, "_registry", {})
    monkeypatch.setattr(processors, "_discovered", [True])
    monkeypatch.setattr(inprocess, "_runners", {})
    name_ = name()
    writes = support.final_writer(name_)

    def write(outputs, using):
        if not calls:
            calls.append(outputs)
            raise OperationalError("the database went away")
        writes(outputs, using)

    calls = []
    register(support.processor(name_, stream, write=write))
    try:
        assert inprocess.run_hosted_round() == 0 and calls
        assert f"stream processor {name_} failed; it starts again" in caplog.text
        assert inprocess._runners == {} and free(stream, name_) == set(range(PARTITIONS))
        assert inprocess.run_hosted_round() == ORDERS
        assert inprocess.run_hosted_round() == 0
    finally:
        for runner in inprocess._runners.values():
            runner.close()
    expected = support.recompute(support.read_all(log, stream))
    assert support.stored(name_, ALIAS)["finals"] == expected["finals"] != []
