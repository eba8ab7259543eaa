"""The processing API: map, filter, key by, then windows and reducers (pure Python).

::

    from edn_core.streams import reducers as r, windows as w
    from edn_core.streams.pipeline import Pipeline, State, value_time

    per_minute = (
        Pipeline(time=value_time("placedAt"))
        .filter(lambda order: order["type"] == "OrderPlaced")
        .key_by(lambda order: "all")
        .window(w.tumbling(timedelta(minutes=1), grace=timedelta(seconds=10)))
        .aggregate(orders=r.count(), revenue=r.sum("total", decimal=True))
    )
    result = per_minute.process(state, entries)  # state: a State loaded by the runtime

A record starts as ``(entry.key, entry.value)`` (or ``source(entry)`` as the value); the steps
see and return values only. Its event time comes from the *entry* (``time``: a function of
the entry giving epoch ms; default the log's append time). ``process`` is a pure function of
``(state, entries)``: see ``pipeline_state`` for the state model and what to commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Set
from typing import Any

from edn_core.streams import pipeline_process
from edn_core.streams.pipeline_process import EntryFailed
from edn_core.streams.pipeline_state import Late, Output, Position, Record, Result, State
from edn_core.streams.pipeline_steps import FILTER, FLAT_MAP, KEY_BY, MAP, compile_steps
from edn_core.streams.pipeline_time import appended_time, header_time, value_time
from edn_core.streams.port import Entry
from edn_core.streams.reducers import Reducer, combine
from edn_core.streams.windows_base import WindowDefinition

__all__ = [
    "Aggregation",
    "EntryFailed",
    "Late",
    "Output",
    "Pipeline",
    "Position",
    "Record",
    "Result",
    "State",
    "appended_time",
    "header_time",
    "value_time",
]


class Pipeline:
    """Stateless steps over records, then ``window(...).aggregate(...)``. Immutable: every
    step returns a new pipeline."""

    __slots__ = ("_run", "source", "steps", "time")

    def __init__(
        self,
        *,
        time: Callable[[Entry], int] = appended_time,
        source: Callable[[Entry], Any] | None = None,
        steps: tuple = (),
    ) -> None:
        self.time, self.source, self.steps = time, source, steps
        self._run = compile_steps(steps, source)

    def _then(self, kind: int, fn: Callable) -> Pipeline:
        return Pipeline(time=self.time, source=self.source, steps=(*self.steps, (kind, fn)))

    def map(self, fn: Callable[[Any], Any]) -> Pipeline:
        """Replace each value with ``fn(value)``."""
        return self._then(MAP, fn)

    def flat_map(self, fn: Callable[[Any], Iterable[Any]]) -> Pipeline:
        """Replace each value with every value of ``fn(value)`` (none, one or several)."""
        return self._then(FLAT_MAP, fn)

    def filter(self, fn: Callable[[Any], Any]) -> Pipeline:
        """Keep the values for which ``fn(value)`` is true."""
        return self._then(FILTER, fn)

    def key_by(self, fn: Callable[[Any], Any]) -> Pipeline:
        """Key each record by ``fn(value)`` (a str; other values are turned into one)."""
        return self._then(KEY_BY, fn)

    def records(self, entries: Iterable[Entry]) -> list[Record]:
        """The records the steps make of ``entries`` (no state: e.g. to append them, keyed
        anew, to another stream so that each new key lands in one partition)."""
        run, time = self._run, self.time
        return [
            Record(entry.partition, entry.offset, key, time(entry), value)
            for entry in entries
            for key, value in run(entry)
        ]

    def window(self, definition: WindowDefinition) -> _Windowed:
        """Group each key's records into ``definition``'s windows (``windows.tumbling``...)."""
        return _Windowed(self, definition)


class _Windowed:
    __slots__ = ("definition", "pipeline")

    def __init__(self, pipeline: Pipeline, definition: WindowDefinition) -> None:
        self.pipeline, self.definition = pipeline, definition

    def aggregate(
        self, reducer: Reducer | None = None, /, *, emit: str = "final", **named: Reducer
    ) -> Aggregation:
        """Aggregate each window with ``reducer``, or with several ``named`` reducers (results
        by name). ``emit="final"``: one result per window, when it closes; ``"update"``: also
        its value after every batch that changed it (and retractions of merged sessions)."""
        if (reducer is None) == (not named):
            raise TypeError("aggregate takes one reducer or named reducers")
        if emit not in ("final", "update"):
            raise ValueError(f"emit must be 'final' or 'update', not {emit!r}")
        reducer = reducer if reducer is not None else combine(named)
        if self.definition.merging and reducer.merge is None:
            raise ValueError(f"{self.definition.kind} windows need a reducer with merge")
        return Aggregation(self.pipeline, self.definition, reducer, emit)


class Aggregation:
    """A windowed aggregation: ``process`` a batch, ``advance`` stream time without one."""

    __slots__ = ("definition", "emit", "pipeline", "reducer")

    def __init__(
        self, pipeline: Pipeline, definition: WindowDefinition, reducer: Reducer, emit: str
    ) -> None:
        self.pipeline, self.definition = pipeline, definition
        self.reducer, self.emit = reducer, emit

    def process(
        self, state: State, entries: Iterable[Entry], *, skip: Set[tuple[int, int]] = frozenset()
    ) -> Result:
        """What ``entries`` (each partition's in offset order) change in ``state`` (which is
        left as it is: ``state.apply(result)`` once the result is committed). Entries whose
        ``(partition, offset)`` is in ``skip`` (dead-lettered) move the position, nothing else."""
        return pipeline_process.process(
            self.pipeline._run,
            self.pipeline.time,
            self.definition,
            self.reducer,
            self.emit == "update",
            state,
            entries,
            skip,
        )

    def advance(self, state: State, times: Mapping[int, int]) -> Result:
        """Move stream time of partitions to ``times`` (partition -> ms, never backwards)
        without records (e.g. a clock for a quiet partition): windows due close."""
        return pipeline_process.advance(
            self.definition, self.reducer, self.emit == "update", state, times
        )
