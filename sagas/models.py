"""Persistence of saga instances: one row each, the step timeline as JSON beside it."""

import contextlib
import dataclasses
from contextvars import ContextVar

from django.db import models
from django.utils import timezone

from edn_core import tracing
from edn_core.bus import models as bus
from edn_core.bus.outbox import append
from edn_core.events import message
from edn_core.persistence import Repository
from sagas.definition import definition
from sagas.domain import Saga
from sagas.states import MessageSent, SagaState


class SagaRecord(models.Model):
    id = models.UUIDField(primary_key=True)
    version = models.PositiveIntegerField()
    saga_type = models.CharField(max_length=100)
    definition_version = models.PositiveSmallIntegerField(
        default=1, help_text="the version of the saga's definition it started on, and runs on"
    )
    key = models.CharField(max_length=100, help_text="what the saga is about, e.g. the order id")
    state = models.CharField(max_length=20, choices=[(s.value, s.value) for s in SagaState])
    current_step = models.PositiveSmallIntegerField(default=0)
    data = models.JSONField(default=dict)
    steps = models.JSONField(default=list)
    history = models.JSONField(
        default=list, help_text="every input the saga received and what it decided (replay)"
    )
    reason = models.TextField(blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "sagas_saga"
        verbose_name = "saga"
        ordering = ("-created_at", "id")
        constraints = [
            models.UniqueConstraint(fields=["saga_type", "key"], name="sagas_one_per_key")
        ]
        indexes = [
            models.Index(fields=["state", "created_at"]),
            models.Index(
                fields=["deadline"],
                condition=models.Q(deadline__isnull=False),
                name="sagas_waiting_deadline",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.saga_type} {self.key} ({self.state})"

    @property
    def current_step_name(self) -> str:
        steps = self.steps or []
        return steps[self.current_step]["name"] if self.current_step < len(steps) else ""


_traces: ContextVar[dict] = ContextVar("saga_traces", default={})  # noqa: B039 (never mutated)


@contextlib.contextmanager
def traces_of(traces: dict):
    """Inside the block, the commands a saga sends continue the trace ``traces`` names for
    its id (the event that started or advanced it), not the batch's first event's."""
    token = _traces.set(traces)
    try:
        yield
    finally:
        _traces.reset(token)


class SagaRepository(Repository[Saga]):
    model = SagaRecord

    def to_domain(self, row: SagaRecord) -> Saga:
        return Saga(
            row.id,
            definition(row.saga_type, row.definition_version),
            key=row.key,
            data=row.data,
            state=SagaState(row.state),
            current=row.current_step,
            steps=row.steps,
            reason=row.reason,
            deadline=row.deadline,
            version=row.version,
            history=row.history,
        )

    def to_fields(self, saga: Saga) -> dict:
        return {
            "saga_type": saga.definition.name,
            "definition_version": saga.definition.version,
            "key": saga.key,
            "state": saga.state.value,
            "current_step": saga.current,
            "data": saga.data,
            "steps": saga.steps,
            "history": saga.history,
            "reason": saga.reason,
            "deadline": saga.deadline,
            "updated_at": timezone.now(),
        }

    def changes(self, saga: Saga) -> dict:
        """Type, version, key and data never change after the start: not rewritten each step."""
        fields, fixed = self.to_fields(saga), ("saga_type", "definition_version", "key", "data")
        return {k: v for k, v in fields.items() if k not in fixed}

    def _publish_numbered(self, events: list) -> None:
        """The saga's commands go out keyed and correlated by the saga id, in one insert, in
        the trace of what moved the saga (:func:`traces_of`)."""
        traces, messages = _traces.get(), []
        for _, event in events:
            if not isinstance(event, MessageSent):
                continue
            sent = message(
                "sagas",
                event.topic,
                event.data,
                key=str(event.aggregate_id),
                correlation_id=str(event.aggregate_id),
                event_id=event.message_id,
            )
            if trace := traces.get(event.aggregate_id):
                sent = dataclasses.replace(sent, traceparent=tracing.continuing(trace))
            messages.append(sent)
        append("sagas", messages)


class OutboxMessage(bus.OutboxMessageBase):
    pass


class InboxEntry(bus.InboxEntryBase):
    pass


class FailedDelivery(bus.FailedDeliveryBase):
    pass


class AggregateCheckpoint(bus.AggregateCheckpointBase):
    pass
