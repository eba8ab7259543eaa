"""What a saga received, in order, and what it decided each time: the saga's history.

Every input -- the starting event, each reply (an ignored one too), each timeout that fired,
an operator's cancel or retry -- appends one small entry to the saga's ``history`` list, in the
same save as the change it caused::

    {"kind": "reply", "topic": "v1.CustomerCreditReserved", "data": {...},
     "messageId": "...", "at": "2025-01-01T12:00:00+00:00",
     "sent": [{"topic": "v1.InventoryReserveRequested", "data": {...}}],
     "state": "Executing", "step": "ReserveProductInventory"}

The first five keys are the input; ``sent``, ``state`` and ``step`` (where the saga stands
after it) are the decision. Replay (:mod:`sagas.replay`) feeds the inputs to the current
definition and compares the decisions (docs/sagas-replay.md).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sagas.states import MessageSent

Saga = Any  # sagas.domain.Saga, which imports this module

KINDS = ("start", "reply", "timeout", "cancel", "retry")
DECISION = ("ignored", "sent", "state", "step")


@contextlib.contextmanager
def recording(
    saga: Saga,
    kind: str,
    now: datetime,
    topic: str | None = None,
    data: dict | None = None,
    message_id: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Append the input to ``saga.history`` with the decision the block made (nothing when
    the block raises: a refused input changed nothing)."""
    entry = {"kind": kind, "topic": topic, "data": data, "messageId": message_id}
    entry["at"] = now.isoformat()
    before = len(saga.pending_events)
    yield entry
    entry.update(decision(saga, saga.pending_events[before:]))
    saga.history.append(entry)


def decision(saga: Saga, events) -> dict[str, Any]:
    """The commands ``events`` send and where ``saga`` stands after them."""
    sent = [{"topic": e.topic, "data": e.data} for e in events if isinstance(e, MessageSent)]
    return {"sent": sent, "state": saga.state.value, "step": saga.steps[saga.current]["name"]}


def phases(steps: list[dict]) -> list[list[str]]:
    """Each step's name and the end state of its action and compensation (no times)."""
    return [[s["name"], s["action"]["state"], s["compensation"]["state"]] for s in steps]


def recording_of(row: dict) -> dict[str, Any]:
    """A saga row's values (``id``, ``saga_type``, ``definition_version``, ``key``, ``state``,
    ``steps``, ``history``) as a self-contained recording: what replay reads, what the
    fixture files hold."""
    return {
        "id": str(row["id"]),
        "sagaType": row["saga_type"],
        "definitionVersion": row["definition_version"],
        "key": row["key"],
        "state": row["state"],
        "phases": phases(row["steps"]),
        "history": row["history"],
    }


ROW_FIELDS = ("id", "saga_type", "definition_version", "key", "state", "steps", "history")
