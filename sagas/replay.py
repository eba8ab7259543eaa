"""Replay: feed a saga's recorded inputs to a definition in memory and find where its
decisions would differ from the recorded ones (docs/sagas-replay.md).

Nothing is written: the saga is rebuilt from its start entry with the recorded saga id, each
input is applied at its recorded time (so deadlines fall as they did), and the commands it
would send are compared, not sent. The first input whose decision differs -- other commands
(topic or payload), another state, another step -- is reported with the step it concerns; a
saga whose decisions all agree must also end with the same phases (compensation path).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sagas.definition import SagaDefinition
from sagas.domain import Saga
from sagas.history import DECISION, phases


@dataclass(frozen=True)
class Divergence:
    """Where a replayed saga first decided otherwise than recorded."""

    saga_id: str
    saga_type: str
    version: int
    index: int  # of the input in the history; len(history) for the end state
    input: str
    step: str
    recorded: str
    replayed: str

    def __str__(self) -> str:
        return (
            f"{self.saga_type} v{self.version} saga {self.saga_id}: input {self.index + 1} "
            f"({self.input}) at step {self.step}\n    recorded: {self.recorded}\n"
            f"    replayed: {self.replayed}"
        )


def replay(recording: dict[str, Any], definition: SagaDefinition) -> Divergence | None:
    """Replay ``recording`` (:func:`sagas.history.recording_of`) on ``definition``; return
    the first divergence, or None when every decision and the end agree."""
    history, saga = recording["history"], None

    def diverged(index: int, what: str, step: str, recorded: str, replayed: str) -> Divergence:
        return Divergence(
            recording["id"], definition.name, definition.version, index, what, step,
            recorded, replayed,
        )  # fmt: skip

    for index, entry in enumerate(history):
        what = " ".join(filter(None, (entry["kind"], entry["topic"])))
        expected = {key: entry.get(key) for key in DECISION}
        try:
            saga, fired = _apply(saga, entry, recording["id"], definition)
            got = {key: saga.history[-1].get(key) for key in DECISION}
            if not fired:
                got = {"timeout": f"not due (deadline {saga.deadline})", "state": saga.state.value}
        except Exception as error:  # a new definition may refuse or fail: that is the news
            got = {"refused": f"{type(error).__name__}: {error}"}
        if got != expected:
            return diverged(
                index, what, entry["step"], _describe(expected, got), _describe(got, expected)
            )
    if saga is not None and phases(saga.steps) != recording["phases"]:
        recorded, now = recording["phases"], phases(saga.steps)
        return diverged(
            len(history), "end", saga.steps[saga.current]["name"], str(recorded), str(now)
        )
    return None


def _apply(
    saga: Saga | None, entry: dict, saga_id: str, definition: SagaDefinition
) -> tuple[Saga, bool]:
    """Feed one input to ``saga``; say False when a recorded timeout would not fire now."""
    now = datetime.fromisoformat(entry["at"])
    kind = entry["kind"]
    if kind == "start":
        return Saga.start(uuid.UUID(saga_id), definition, entry["data"], now), True
    if saga is None:
        raise ValueError("the history does not begin with the saga's start")
    if kind == "reply":
        saga.on_reply(entry["topic"], entry["data"], entry["messageId"], now)
    elif kind == "timeout":
        return saga, saga.expire(now)
    elif kind == "cancel":
        saga.cancel(entry["data"]["reason"], now)
    elif kind == "retry":
        saga.retry_compensation(now)
    else:
        raise ValueError(f"unknown input kind {kind!r}")
    return saga, True


def _describe(decision: dict, other: dict) -> str:
    """The keys of ``decision`` that differ from ``other``, readably."""
    parts = []
    for key, value in decision.items():
        if value == other.get(key) or (key == "ignored" and value is None):
            continue
        if key == "sent":
            value = ", ".join(f"{m['topic']} {m['data']}" for m in value) or "nothing"
        parts.append(f"{key} {value}")
    return "; ".join(parts) or "the same"
