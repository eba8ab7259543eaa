"""The Celery app: bus tasks on a schedule (and, with EDN_BUS_TRANSPORT=celery, transport)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("edn")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["edn_core.bus"])
