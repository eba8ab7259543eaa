from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connections

from edn_core import schemas
from edn_core.schema_client import HttpSchemaSource


class Command(BaseCommand):
    help = (
        "Apply migrations to every database alias this process hosts (default first), then "
        "register the hosted apps' event schemas when this process hosts the schema registry "
        "(the same schema again is a no-op)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-schemas",
            action="store_true",
            help="Do not register the event schemas after migrating.",
        )

    def handle(self, *args, no_schemas=False, **options):
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
        if not no_schemas:
            self.register_schemas()

    def register_schemas(self) -> None:
        """Register the schemas where the registry's tables were just migrated, so a newcomer's
        ``migrate_all`` + ``runserver`` publishes events; a remote registry is left to
        ``edn_schemas register`` in the deployment's setup (it may not be up yet)."""
        registry = schemas.source()
        if registry is None:
            self.stdout.write(
                "event schemas: none to register, no schema registry is configured "
                "(this process neither hosts one nor names one in EDN_SCHEMA_REGISTRY_URL)"
            )
            return
        if isinstance(registry, HttpSchemaSource):
            self.stdout.write(
                "event schemas: not registered by migrate_all, the schema registry is remote "
                "(EDN_SCHEMA_REGISTRY_URL); the deployment's setup runs "
                "`python manage.py edn_schemas register` once it is up"
            )
            return
        self.stdout.write("event schemas: registering in the registry this process hosts")
        call_command("edn_schemas", "register", stdout=self.stdout, stderr=self.stderr)
        self.stdout.write(self.style.SUCCESS("event schemas registered"))
