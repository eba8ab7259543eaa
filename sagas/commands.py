"""Write side of sagas: start a saga, apply a reply, expire overdue steps, operator actions.

Every change is a load-change-save with optimistic concurrency (``UPDATE ... WHERE version``),
so any orchestrator process may advance any saga; the loser of a race loads it again.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from django.utils import timezone

from edn_core.cqrs import Command, handles
from edn_core.domain import ConcurrencyConflict, new_id
from sagas.definition import definition
from sagas.domain import Saga
from sagas.metrics import ended_phases
from sagas.models import SagaRecord, SagaRepository, traces_of
from sagas.states import WAITING

logger = logging.getLogger(__name__)
sagas = SagaRepository()


@dataclass(frozen=True, kw_only=True)
class StartSagas(Command):
    """Start one saga per distinct key of ``datas`` (a delivery batch), skipping keys that
    have one already."""

    saga_type: str
    datas: list[dict]
    traces: list[str] = field(default_factory=list)  # each data's event's traceparent


@dataclass(frozen=True, kw_only=True)
class ExpireOverdueSteps(Command):
    now: datetime | None = None
    limit: int = 500


@dataclass(frozen=True, kw_only=True)
class CancelSaga(Command):
    saga_id: UUID
    reason: str
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class RetryCompensation(Command):
    saga_id: UUID
    expected_version: int | None = None


@handles(StartSagas)
def start_sagas(cmd: StartSagas) -> list[Saga]:
    saga_type, now = definition(cmd.saga_type), timezone.now()
    started = [Saga.start(new_id(), saga_type, d, now) for d in cmd.datas]
    with traces_of({saga.id: trace for saga, trace in zip(started, cmd.traces, strict=False)}):
        return _start_new(cmd.saga_type, started)


def _start_new(saga_type: str, candidates: list[Saga]) -> list[Saga]:
    """Insert the sagas whose key has none yet (one statement, one outbox insert). Two
    processes starting one key at once: the unique key fails one, which the bus retries."""
    by_key: dict[str, Saga] = {}
    for saga in candidates:
        by_key.setdefault(saga.key, saga)
    with sagas.atomic(savepoint=False):
        taken = SagaRecord.objects.filter(saga_type=saga_type, key__in=list(by_key))
        for key in taken.values_list("key", flat=True):
            logger.info("saga %s for %s already started", saga_type, key)
            by_key.pop(key)
        sagas.add_all(list(by_key.values()))
    return list(by_key.values())


@dataclass(frozen=True, kw_only=True)
class HandleReplies(Command):
    """Replies of a delivery batch, oldest first: ``(saga id, topic, data, message id,
    traceparent)`` (the traceparent may be left out)."""

    replies: list[tuple]


@handles(HandleReplies)
def handle_replies(cmd: HandleReplies) -> int:
    """Set-based: load every saga the replies name in one query, apply the replies in order,
    save the changed sagas and their next commands with a few statements; return how many
    sagas changed. A concurrent change to any of them raises ConcurrencyConflict (the bus
    then applies the replies one by one)."""
    wanted = {saga_id for saga_id, *_ in cmd.replies}
    loaded = sagas.get_many(wanted)
    now, traces = timezone.now(), {}
    for saga_id, topic, data, message_id, *trace in cmd.replies:
        saga = loaded.get(saga_id)
        if saga is None:
            logger.warning("reply %s %s for unknown saga %s", topic, message_id, saga_id)
            continue
        saga.on_reply(topic, data, message_id, now)
        traces.update({saga_id: trace[0]} if trace else {})  # the next step: in its trace
    changed = [saga for saga in loaded.values() if saga.pending_events]
    with traces_of(traces):
        sagas.save_all(changed)
    ended_phases(changed, now)
    return len(changed)


@handles(ExpireOverdueSteps)
def expire_overdue_steps(cmd: ExpireOverdueSteps) -> int:
    """Fail every step whose deadline passed and compensate; return how many sagas moved."""
    now = cmd.now or timezone.now()
    overdue = SagaRecord.objects.filter(
        deadline__lte=now, state__in=[s.value for s in WAITING]
    ).order_by("deadline")
    expired = []
    for saga_id in overdue.values_list("id", flat=True)[: cmd.limit]:
        moved: list[Saga] = []  # counted once saved: a lost race expired nothing
        try:
            sagas.change(saga_id, lambda s, moved=moved: s.expire(now) and moved.append(s))
        except ConcurrencyConflict:
            continue  # a reply or another sweeper got there first; the next sweep looks again
        expired += moved
    ended_phases(expired, now)
    return len(expired)


@handles(CancelSaga)
def cancel_saga(cmd: CancelSaga) -> SagaRecord:
    """Stop a stuck saga (an operator's action); answers with the saved row."""
    now = timezone.now()
    saga = sagas.change(cmd.saga_id, lambda s: s.cancel(cmd.reason, now), cmd.expected_version)
    ended_phases([saga], now)
    return SagaRecord.objects.get(pk=cmd.saga_id)


@handles(RetryCompensation)
def retry_compensation(cmd: RetryCompensation) -> SagaRecord:
    """Send a failed compensation again (an operator's action); answers with the saved row."""
    sagas.change(cmd.saga_id, lambda s: s.retry_compensation(timezone.now()), cmd.expected_version)
    return SagaRecord.objects.get(pk=cmd.saga_id)
