import importlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Load each hosted app's demo data (its optional demo.py); idempotent."

    def handle(self, *args, **options):
        for app in settings.EDN_SERVICES:
            try:
                demo = importlib.import_module(f"{app}.demo")
            except ModuleNotFoundError as error:
                if error.name != f"{app}.demo":
                    raise
                continue
            created = demo.load()
            self.stdout.write(f"{app}: {created} demo record(s) created")
        if settings.DEBUG:
            self._ensure_dev_admin()

    def _ensure_dev_admin(self):
        users = get_user_model().objects
        if not users.filter(username="admin").exists():
            users.create_superuser("admin", "admin@example.com", "admin")
            self.stdout.write("created admin user 'admin' with password 'admin' (DEBUG only)")
