"""Celery tasks for the bus, in the beat schedule of the settings (``CELERY_BEAT_SCHEDULE``,
edn_core/project/settings_bus.py). No deployment runs beat: ``edn_relay`` and
``edn_outbox --cleanup`` do this work (docs/event-bus.md, "Operating")."""

from celery import shared_task

from edn_core.bus import maintenance
from edn_core.bus.worker import BusWorker


@shared_task(name="edn.relay_outbox", ignore_result=True)
def relay_outbox() -> int:
    """Drain every outbox of this service and run due retries once."""
    return BusWorker(listen=False).run_once()


@shared_task(name="edn.cleanup_bus", ignore_result=True)
def cleanup_bus() -> dict:
    """Delete inbox rows past their TTL and sent outbox rows past retention."""
    return maintenance.cleanup()
