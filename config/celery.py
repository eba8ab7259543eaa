"""The Celery app: bus tasks on a schedule (and, with EDN_BUS_TRANSPORT=celery, transport)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from edn_core.project.celery import celery_app

app = celery_app("edn")
