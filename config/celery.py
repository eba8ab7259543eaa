"""The Celery app: bus tasks on a schedule (and, with EDN_BUS_TRANSPORT=celery, transport)."""

import os

from celery import Celery
from django.conf import settings

from edn_core.bus.celery_consumer import EventConsumerStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("edn")
app.config_from_object("django.conf:settings", namespace="CELERY")
# The tasks modules of the hosted service apps only (sagas.tasks needs the sagas models).
app.autodiscover_tasks(lambda: ["edn_core.bus", *settings.EDN_SERVICES])

# With EDN_BUS_TRANSPORT=celery the worker also consumes this service's event queues.
app.steps["consumer"].add(EventConsumerStep)
