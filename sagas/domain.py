"""A saga instance: which step it is at, what each step did, and when.

The instance is an aggregate: every change is saved with optimistic concurrency, so any
process may advance any saga. The messages it decides to send are recorded as
:class:`MessageSent` events; saving the saga writes them to the outbox in the same
transaction. Times are ISO 8601 strings in UTC so the timeline reads the same everywhere.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from edn_core.domain import AggregateRoot, InvalidState
from sagas.definition import Request, SagaDefinition
from sagas.history import recording
from sagas.states import (
    WAITING,
    MessageSent,
    PhaseState,
    SagaChanged,
    SagaState,
    message_note,
    new_phase,
)


class Saga(AggregateRoot):
    kind = "saga"

    def __init__(
        self,
        id: uuid.UUID,
        definition: SagaDefinition,
        *,
        key: str,
        data: dict[str, Any],
        state: SagaState = SagaState.INITIAL,
        current: int = 0,
        steps: list[dict] | None = None,
        reason: str = "",
        deadline: datetime | None = None,
        version: int = 0,
        history: list[dict] | None = None,
    ) -> None:
        super().__init__(id, version)
        self.definition, self.key, self.data = definition, key, data
        self.state, self.current = SagaState(state), current
        self.reason, self.deadline = reason, deadline
        self.history: list[dict] = [] if history is None else history  # sagas.history
        self.steps = steps or [
            {"name": s.name, "action": new_phase(), "compensation": new_phase()}
            for s in definition.steps
        ]

    @classmethod
    def start(cls, id: uuid.UUID, definition: SagaDefinition, data: dict, now: datetime) -> Saga:
        saga = cls(id, definition, key=str(definition.key(data)), data=data)
        with recording(saga, "start", now, definition.started_by, data):
            saga.state = SagaState.EXECUTING
            saga._begin(0, "action", now)
        return saga

    @property
    def facts(self) -> dict[str, Any]:
        return {**self.data, "sagaId": str(self.id), "reason": self.reason}

    @property
    def finished(self) -> bool:
        return self.state not in WAITING

    # -- replies, timeouts and operator actions ------------------------------------------
    def on_reply(self, topic: str, data: dict, message_id: str, now: datetime) -> bool:
        """Apply a reply; return False (and note it) when it is late or not expected."""
        with recording(self, "reply", now, topic, data, message_id) as entry:
            entry["ignored"] = not self._reply(topic, data, message_id, now)
        return not entry["ignored"]

    def _reply(self, topic: str, data: dict, message_id: str, now: datetime) -> bool:
        kind = "action" if self.state == SagaState.EXECUTING else "compensation"
        request = self._request(self.current, kind) if self.state in WAITING else None
        phase = self.steps[self.current][kind]
        if request is None or topic not in request.replies or phase["state"] != "Executing":
            self._note_ignored(topic, data, message_id, now)
            return False
        phase["received"].append(message_note(topic, data, message_id, now))
        if topic == request.success:
            self._end(phase, PhaseState.SUCCEEDED, now)
            self._advance(now) if kind == "action" else self._compensate_before(self.current, now)
        else:
            reason = str(data.get("reason") or f"{topic} without a reason")
            reason = f"{self.steps[self.current]['name']}: {reason}"
            self._fail(kind, PhaseState.FAILED, reason, now, refused=True)
        return True

    def expire(self, now: datetime) -> bool:
        """Fail the waiting step if its deadline passed; return whether it did."""
        if self.state not in WAITING or self.deadline is None or now < self.deadline:
            return False
        with recording(self, "timeout", now):
            kind = "action" if self.state == SagaState.EXECUTING else "compensation"
            step = self.definition.steps[self.current]
            seconds = self.definition.timeout_of(step).total_seconds()
            reason = f"{step.name}: no reply within {seconds:g} s"
            self._fail(kind, PhaseState.TIMED_OUT, reason, now)
        return True

    def cancel(self, reason: str, now: datetime) -> None:
        """Stop waiting: an executing saga compensates, a compensating one needs attention."""
        if self.state not in WAITING:
            raise InvalidState(f"Saga {self.id} is {self.state}; only a waiting saga cancels.")
        with recording(self, "cancel", now, data={"reason": reason}):
            kind = "action" if self.state == SagaState.EXECUTING else "compensation"
            self._fail(kind, PhaseState.FAILED, f"cancelled: {reason}", now)

    def retry_compensation(self, now: datetime) -> None:
        """Send the compensation that failed again (after an operator fixed the cause)."""
        failed = self.steps[self.current]["compensation"]["state"] in {"Failed", "TimedOut"}
        if self.state != SagaState.NEEDS_ATTENTION or not failed:
            raise InvalidState(f"Saga {self.id} is {self.state}; no failed compensation to retry.")
        with recording(self, "retry", now):
            self.state = SagaState.COMPENSATING
            self._begin(self.current, "compensation", now)

    # -- the state machine ---------------------------------------------------------------
    def _advance(self, now: datetime) -> None:
        if self.current + 1 < len(self.steps):
            self._begin(self.current + 1, "action", now)
        else:
            self.state, self.deadline = SagaState.EXECUTED, None
            self.record(SagaChanged(aggregate_id=self.id, state=self.state.value))

    def _fail(
        self, kind: str, how: PhaseState, reason: str, now: datetime, *, refused: bool = False
    ) -> None:
        """End the waiting phase as ``how``; compensate from the newest step that may have acted
        (a step that refused held nothing; one that timed out or was cancelled may have)."""
        self._end(self.steps[self.current][kind], how, now)
        if kind == "compensation" or not self.definition.reverse_on_failure:
            self.state, self.deadline = SagaState.NEEDS_ATTENTION, None
            self.reason = (
                reason if not self.reason or kind == "action" else f"{self.reason}; {reason}"
            )
            self.record(SagaChanged(aggregate_id=self.id, state=self.state.value))
            return
        self.reason, self.state = reason, SagaState.COMPENSATING
        self._compensate_before(self.current if refused else self.current + 1, now)

    def _compensate_before(self, index: int, now: datetime) -> None:
        for i in range(index - 1, -1, -1):
            acted = self.steps[i]["action"]["state"] != PhaseState.NOT_STARTED
            if acted and self.definition.steps[i].compensation is not None:
                self._begin(i, "compensation", now)
                return
        self.state, self.deadline = SagaState.COMPENSATED, None
        self.record(SagaChanged(aggregate_id=self.id, state=self.state.value))

    def _begin(self, index: int, kind: str, now: datetime) -> None:
        self.current, phase = index, self.steps[index][kind]
        phase.update(state=PhaseState.EXECUTING.value, startedAt=now.isoformat(), endedAt=None)
        request = self._request(index, kind)
        if request is None:  # nothing to do: done at once
            self._end(phase, PhaseState.SUCCEEDED, now)
            return self._advance(now) if kind == "action" else self._compensate_before(index, now)
        sent = MessageSent(
            aggregate_id=self.id, topic=request.topic, data=request.build(self.facts)
        )
        phase["sent"].append(message_note(sent.topic, sent.data, sent.message_id, now))
        self.deadline = now + self.definition.timeout_of(self.definition.steps[index])
        self.record(sent)

    def _request(self, index: int, kind: str) -> Request | None:
        return getattr(self.definition.steps[index], kind)

    def _end(self, phase: dict, how: PhaseState, now: datetime) -> None:
        phase.update(state=how.value, endedAt=now.isoformat())

    def _note_ignored(self, topic: str, data: dict, message_id: str, now: datetime) -> None:
        for step, spec in zip(self.steps, self.definition.steps, strict=True):
            for kind in ("action", "compensation"):
                request = getattr(spec, kind)
                if request is not None and topic in request.replies:
                    note = {**message_note(topic, data, message_id, now), "ignored": True}
                    step[kind]["received"].append(note)
                    self.record(SagaChanged(aggregate_id=self.id, state=self.state.value))
                    return
