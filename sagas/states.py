"""What a saga and each of its steps can be in, and the records of its timeline (pure Python)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from edn_core.domain import DomainEvent


class SagaState(StrEnum):
    INITIAL = "Initial"
    EXECUTING = "Executing"
    EXECUTED = "Executed"
    COMPENSATING = "Compensating"
    COMPENSATED = "Compensated"
    NEEDS_ATTENTION = "NeedsAttention"


class PhaseState(StrEnum):
    NOT_STARTED = "NotStarted"
    EXECUTING = "Executing"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    TIMED_OUT = "TimedOut"


WAITING = frozenset({SagaState.EXECUTING, SagaState.COMPENSATING})


@dataclass(frozen=True, kw_only=True)
class MessageSent(DomainEvent):
    topic: str
    data: dict[str, Any]
    message_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def new_phase() -> dict[str, Any]:
    """A step's action or compensation before it ran."""
    return {
        "state": PhaseState.NOT_STARTED.value,
        "startedAt": None,
        "endedAt": None,
        "sent": [],
        "received": [],
    }


@dataclass(frozen=True, kw_only=True)
class SagaChanged(DomainEvent):
    state: str


def message_note(topic: str, data: dict, message_id: str, now: datetime) -> dict[str, Any]:
    return {"topic": topic, "id": message_id, "at": now.isoformat(), "data": data}
