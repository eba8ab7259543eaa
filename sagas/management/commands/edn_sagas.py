import time

from django.core.management.base import BaseCommand

from edn_core.cqrs import send
from sagas.commands import ExpireOverdueSteps
from sagas.models import SagaRecord


class Command(BaseCommand):
    help = (
        "expire: fail saga steps whose reply is overdue and start their compensation (once, "
        "or every --every seconds); status: count sagas by type and state."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["expire", "status"])
        parser.add_argument("--every", type=float, default=0.0, help="repeat (seconds)")

    def handle(self, *args, action, every, **options):
        if action == "status":
            rows = SagaRecord.objects.values_list("saga_type", "state").order_by()
            counts: dict[tuple[str, str], int] = {}
            for key in rows:
                counts[key] = counts.get(key, 0) + 1
            for (saga_type, state), count in sorted(counts.items()):
                self.stdout.write(f"{saga_type} {state}: {count}")
            return
        while True:
            total = 0
            while moved := send(ExpireOverdueSteps()).value_or_raise():  # 500 per round
                total += moved
                self.stdout.write(f"expired {total} saga step(s) so far", ending="\r")
            self.stdout.write(f"expired {total} overdue saga step(s)")
            if not every:
                return
            time.sleep(every)
