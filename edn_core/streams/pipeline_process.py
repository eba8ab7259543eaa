"""Processing one batch: a pure function of (state, batch) -> Result (no framework, no I/O).

Per source partition the loop keeps a working view (``pipeline_work.Work``): the stored
windows, read-only, and an overlay of the windows this batch changed. Each entry at or below the
partition's applied offset is skipped (already in the state); the others go through the
pipeline's steps, advance the stream time and reach the window definition, which adds them to
their open windows or reports the closed ones (late). At the end every window whose close
time the stream time has reached is emitted as final and deleted, the changed ones become
upserts (and updates, when emitting on update), all in a deterministic order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Set
from typing import Any

from edn_core.streams.pipeline_state import (
    Late,
    Output,
    Position,
    Result,
    State,
    StateKey,
)
from edn_core.streams.pipeline_work import CLOSED, Work
from edn_core.streams.port import Entry
from edn_core.streams.reducers import Reducer
from edn_core.streams.windows_base import DELETED, NO_TIME, WindowDefinition

__all__ = ["EntryFailed", "advance", "process"]

Window = tuple[int, int]


class EntryFailed(Exception):
    """A step, the time extractor or a reducer failed on ``entry``, the ``index``-th of the
    batch. Nothing of the batch is applied (no result); the runtime may process the entries
    before it, then retry it, or dead-letter it and process on with it in ``skip``."""

    def __init__(self, index: int, entry: Entry, error: Exception) -> None:
        super().__init__(f"{entry.stream}[{entry.partition}]@{entry.offset}: {error!r}")
        self.index, self.entry, self.error = index, entry, error


def process(
    run: Callable[[Entry], list[tuple[str, Any]]],
    time: Callable[[Entry], int],
    definition: WindowDefinition,
    reducer: Reducer,
    emit_updates: bool,
    state: State,
    entries: Iterable[Entry],
    skip: Set[tuple[int, int]] = frozenset(),
) -> Result:
    """Apply ``entries`` (each partition's in offset order) to ``state`` (left unchanged);
    those in ``skip`` (``(partition, offset)``) only move the position."""
    works: dict[int, Work] = {}
    late: list[Late] = []
    skipped = 0
    add, load = definition.add, reducer.load
    for index, entry in enumerate(entries):
        partition = entry.partition
        work = works.get(partition)
        if work is None:
            work = works[partition] = Work(state.partition(partition), load)
        if entry.offset <= work.offset:
            skipped += 1
            continue
        work.offset = entry.offset
        if skip and (partition, entry.offset) in skip:
            continue
        try:
            records = run(entry)
            if not records:
                continue
            t = time(entry)
            if t > work.stream_time:
                work.stream_time = t
            for key, value in records:
                missed = add(work, key, t, value, reducer)
                if missed:
                    work.late += 1
                    late.append(
                        Late(partition, entry.offset, key, t, value, missed, work.stream_time)
                    )
        except Exception as error:
            raise EntryFailed(index, entry, error) from error
    return _finish(works, definition, reducer, emit_updates, late, skipped)


def advance(
    definition: WindowDefinition,
    reducer: Reducer,
    emit_updates: bool,
    state: State,
    times: Mapping[int, int],
) -> Result:
    """Move partitions' stream time up to ``times`` (ms) without records, closing windows."""
    works = {}
    for partition, t in times.items():
        work = works[partition] = Work(state.partition(partition), reducer.load)
        work.stream_time = max(work.stream_time, t)
    return _finish(works, definition, reducer, emit_updates, [], 0)


def _finish(
    works: dict[int, Work],
    definition: WindowDefinition,
    reducer: Reducer,
    emit_updates: bool,
    late: list[Late],
    skipped: int,
) -> Result:
    close_at, emits = definition.close_at, definition.emits
    dump, result = reducer.dump, reducer.result
    positions: dict[int, Position] = {}
    upserts: dict[StateKey, Any] = {}
    deletes: list[StateKey] = []
    outputs: list[Output] = []
    for partition in sorted(works):
        work = works[partition]
        now, stored = work.stream_time, work.stored
        positions[partition] = Position(work.offset, None if now == NO_TIME else now, work.late)
        finals: list[Output] = []
        changes: list[Output] = []
        for key, window, acc in work.closed:
            if window in stored.get(key, ()):
                deletes.append((partition, key, *window))
            if emits(*window):
                finals.append(Output("final", partition, key, *window, result(acc)))
        if now > work.start_time:  # else every stored window is still open
            for key, windows in stored.items():
                changed = work.changed.get(key, {})
                for window, acc in windows.items():
                    if window not in changed and close_at(*window) <= now:
                        deletes.append((partition, key, *window))
                        if emits(*window):
                            value = result(work.load(acc))
                            finals.append(Output("final", partition, key, *window, value))
        for key, windows in work.changed.items():
            before = stored.get(key, {})
            for window, acc in windows.items():
                if acc is CLOSED:
                    continue
                if acc is DELETED:
                    if window in before:
                        deletes.append((partition, key, *window))
                        if emit_updates and emits(*window):
                            changes.append(Output("retract", partition, key, *window, None))
                elif close_at(*window) <= now:
                    if window in before:
                        deletes.append((partition, key, *window))
                    if emits(*window):
                        finals.append(Output("final", partition, key, *window, result(acc)))
                else:
                    upserts[(partition, key, *window)] = dump(acc)
                    if emit_updates and emits(*window):
                        changes.append(Output("update", partition, key, *window, result(acc)))
        changes.sort(key=lambda o: (o.key, o.start, o.end, o.kind))
        finals.sort(key=lambda o: (o.end, o.start, o.key))
        outputs += changes
        outputs += finals
    deletes.sort()
    return Result(positions, upserts, deletes, outputs, late, skipped)
