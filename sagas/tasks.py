"""Celery tasks of the orchestrator (scheduled by beat in config/settings.py)."""

from celery import shared_task

from sagas.commands import ExpireOverdueSteps, expire_overdue_steps


@shared_task(name="sagas.expire_overdue_steps", ignore_result=True)
def expire_overdue_steps_task() -> int:
    """Fail saga steps whose deadline passed and start their compensation."""
    return expire_overdue_steps(ExpireOverdueSteps())
