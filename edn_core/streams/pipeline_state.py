"""The state of a windowed processor and what processing a batch returns (pure Python).

The state is everything the processor knows between batches, as plain JSON values, so a
runtime keeps it in the service's database (two tables suffice) and loads it after a restart:

- per source partition a :class:`Position`: the last ``offset`` applied, the ``stream_time``
  (largest event time seen, ms) and how many records were ``late`` so far;
- window rows keyed by ``(partition, key, start, end)``: the reducer's stored accumulator.

Windows are scoped to the source partition, as Kafka Streams scopes state to the task of an
input partition: whoever owns a partition owns its state, and moves both together. When
``key_by`` gives keys that span partitions, each partition aggregates its own share (see
docs/streams-windows-draft.md).

``Aggregation.process`` reads a state and returns a :class:`Result` without changing it. The
runtime writes ``result.upserts``/``deletes``, ``positions``, ``outputs`` and ``late`` in one
transaction, then commits the log's offsets and calls ``state.apply(result)`` to go on with
the state in memory. A crash before the transaction commits loses nothing (the same batch
from the same state gives the same result); after it, the stored positions are the truth:
entries delivered again at or below them are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Late", "Output", "PartitionState", "Position", "Record", "Result", "State"]

StateKey = tuple[int, str, int, int]  # (partition, key, window start, window end)


@dataclass(frozen=True, slots=True)
class Position:
    """Where a partition's processing stands: last offset applied (0: none), stream time
    (None until a record reached the windows) and the number of late records so far."""

    offset: int = 0
    stream_time: int | None = None
    late: int = 0


@dataclass(slots=True)
class PartitionState:
    """One partition's position and open windows: ``windows[key][(start, end)] = acc``."""

    position: Position = field(default_factory=Position)
    windows: dict[str, dict[tuple[int, int], Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Record:
    """A record after map/filter/key_by: its source entry, key, event time (ms) and value."""

    partition: int
    offset: int
    key: str
    time: int
    value: Any


@dataclass(frozen=True, slots=True)
class Output:
    """A window result. ``kind``: ``"final"`` (the window closed: never revised), ``"update"``
    (its value after this batch, emit on update only) or ``"retract"`` (emit on update only: a
    session merged into another; ``value`` None). Time windows are ``[start, end)``, session
    and sliding windows ``[start, end]`` (ms)."""

    kind: str
    partition: int
    key: str
    start: int
    end: int
    value: Any


@dataclass(frozen=True, slots=True)
class Late:
    """A record that arrived after some window it belongs to had closed (side output):
    ``windows`` lists those windows; it was still added to its open ones, if any."""

    partition: int
    offset: int
    key: str
    time: int
    value: Any
    windows: tuple[tuple[int, int], ...]
    stream_time: int


@dataclass(frozen=True, slots=True)
class Result:
    """What one batch changes: write it all in one transaction (see the module doc).
    ``positions`` has every partition of the batch; ``skipped`` counts entries at or below
    a partition's applied offset (delivered again after a crash: already counted)."""

    positions: dict[int, Position]
    upserts: dict[StateKey, Any]
    deletes: list[StateKey]
    outputs: list[Output]
    late: list[Late]
    skipped: int = 0


class State:
    """The positions and window states of the partitions a processor owns."""

    __slots__ = ("partitions",)

    def __init__(self, partitions: Mapping[int, PartitionState] | None = None) -> None:
        self.partitions: dict[int, PartitionState] = dict(partitions or {})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, State) and self.partitions == other.partitions

    def __repr__(self) -> str:
        return f"State({self.partitions!r})"

    def partition(self, partition: int) -> PartitionState:
        """The partition's state (an empty one, not kept, if it has none)."""
        return self.partitions.get(partition) or PartitionState()

    def apply(self, result: Result) -> None:
        """Bring this state to where ``result`` leaves it (after its transaction commits)."""
        parts = self.partitions
        for partition, position in result.positions.items():
            parts.setdefault(partition, PartitionState()).position = position
        for partition, key, start, end in result.deletes:
            windows = parts[partition].windows
            of_key = windows[key]
            del of_key[(start, end)]
            if not of_key:
                del windows[key]
        for (partition, key, start, end), acc in result.upserts.items():
            parts[partition].windows.setdefault(key, {})[(start, end)] = acc

    def positions(self) -> dict[int, Position]:
        return {p: state.position for p, state in sorted(self.partitions.items())}

    def rows(self) -> Iterator[tuple[int, str, int, int, Any]]:
        """Every window state as ``(partition, key, start, end, acc)``, sorted."""
        for partition, state in sorted(self.partitions.items()):
            for key in sorted(state.windows):
                for (start, end), acc in sorted(state.windows[key].items()):
                    yield partition, key, start, end, acc

    @classmethod
    def from_rows(
        cls, positions: Mapping[int, Position], rows: Iterable[tuple[int, str, int, int, Any]]
    ) -> State:
        """A state from stored positions and window rows (any order)."""
        state = cls({p: PartitionState(position) for p, position in positions.items()})
        for partition, key, start, end, acc in rows:
            part = state.partitions.setdefault(partition, PartitionState())
            part.windows.setdefault(key, {})[(start, end)] = acc
        return state

    def to_json(self) -> dict[str, Any]:
        """The whole state as one JSON object (``json.dumps``-able when the accs are)."""
        return {
            "positions": [
                [p, pos.offset, pos.stream_time, pos.late] for p, pos in self.positions().items()
            ],
            "windows": [list(row) for row in self.rows()],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> State:
        positions = {p: Position(offset, time, late) for p, offset, time, late in data["positions"]}
        return cls.from_rows(positions, (tuple(row) for row in data["windows"]))
