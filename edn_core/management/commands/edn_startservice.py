from django.core.management.base import BaseCommand

from edn_core.scaffold.service import start_service


class Command(BaseCommand):
    help = (
        "Create the service app NAME in the standard shape (aggregate, command and query "
        "viewsets, admin, the integration event v1.<Name>Created with its schema and released "
        "history, migrations, tests in tests/NAME), add it to SERVICE_APPS in "
        "<project>/services.py and regenerate every per-service file (edn_wiring write). "
        "--handles TOPIC (repeatable) adds a subscription recording each event of TOPIC as "
        "the app's activity."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="the app's package: lowercase, e.g. shipping")
        parser.add_argument(
            "--handles",
            action="extend",
            nargs="+",
            default=[],
            metavar="TOPIC",
            help="a topic the app subscribes to, e.g. v1.OrderPlaced",
        )

    def handle(self, *args, name, handles, **options):
        start_service(name, handles, say=self.stdout.write)
