"""The Celery app of a project: bus tasks on a schedule and, with ``EDN_BUS_TRANSPORT=celery``,
the transport (each worker also consumes its service's event queues)."""

from celery import Celery


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
    return app
