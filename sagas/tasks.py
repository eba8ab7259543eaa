"""Celery tasks of the orchestrator (scheduled by beat in config/settings.py)."""

from celery import shared_task

from edn_core.cqrs import send
from sagas.commands import ExpireOverdueSteps


@shared_task(name="sagas.expire_overdue_steps", ignore_result=True)
def expire_overdue_steps_task() -> int:
    """Fail saga steps whose deadline passed and start their compensation."""
    return send(ExpireOverdueSteps()).value_or_raise()
