from django.core.management.base import BaseCommand

from edn_core.bus.transports.celery import broker_connection, declare_topology


class Command(BaseCommand):
    help = (
        "Declare the event exchange and this service's durable queues and bindings on the "
        "broker. Run it at deploy, before publishers start, so no event finds no queue."
    )

    def handle(self, *args, **options):
        with broker_connection() as connection:
            connection.ensure_connection(max_retries=3)
            for name in declare_topology(connection):
                self.stdout.write(f"queue {name} declared and bound")
        self.stdout.write(self.style.SUCCESS("broker topology ready"))
