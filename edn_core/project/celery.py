"""The Celery app of a project: bus tasks on a schedule and, with ``EDN_BUS_TRANSPORT=celery``,
the transport (each worker also consumes its service's event queues)."""

import sys

from celery import Celery
from celery.signals import worker_init

# A worker exits with this status when a system check finds an error (gunicorn's is 3).
CHECKS_FAILED = 3


def refuse_on_check_errors(**_) -> None:
    """Stop a worker whose system checks find an error (a key too short, say), before it
    consumes anything: Celery runs Django's checks at start but ignores their findings."""
    from edn_core.checks import startup_errors

    if startup_errors(report=True):
        sys.exit(CHECKS_FAILED)


def celery_app(name: str = "edn") -> Celery:
    """Return the project's Celery app, configured from the Django settings (``CELERY_*``).

    Call it from ``<project>/celery.py`` after setting ``DJANGO_SETTINGS_MODULE``.
    """
    from django.conf import settings

    from edn_core.bus.celery_consumer import EventConsumerStep

    app = Celery(name)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    # The tasks modules of the hosted service apps only (sagas.tasks needs the sagas models).
    app.autodiscover_tasks(lambda: ["edn_core.bus", *settings.EDN_SERVICES])
    app.steps["consumer"].add(EventConsumerStep)
    worker_init.connect(refuse_on_check_errors, weak=False, dispatch_uid="edn-checks")
    return app
