from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connections


class Command(BaseCommand):
    help = "Apply migrations to every database alias this process hosts (default first)."

    def handle(self, *args, **options):
        aliases = list(connections.settings)
        for index, alias in enumerate(aliases, start=1):
            self.stdout.write(f"[{index}/{len(aliases)}] migrating alias '{alias}'")
            call_command(
                "migrate",
                database=alias,
                interactive=False,
                verbosity=max(options["verbosity"] - 1, 0),
                stdout=self.stdout,
            )
        self.stdout.write(self.style.SUCCESS(f"migrated {len(aliases)} aliases"))
