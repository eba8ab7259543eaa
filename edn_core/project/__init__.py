"""The wiring a Django project needs to run on the platform: settings read from the
environment, URLs, the Celery app and the gunicorn configuration.

A project keeps one list, its service apps (``<project>/services.py``), and builds the rest
from it::

    # <project>/settings.py
    from edn_core.project.settings import platform_settings
    from <project>.services import SAGA_APPS, SERVICE_APPS

    globals().update(platform_settings(BASE_DIR, SERVICE_APPS, saga_apps=SAGA_APPS))
"""

from edn_core.project.services import hosted_services

__all__ = ["hosted_services"]
