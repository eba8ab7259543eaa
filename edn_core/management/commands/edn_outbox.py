from django.core.management.base import BaseCommand

from edn_core.bus import maintenance
from edn_core.bus.backlog import backlogs


class Command(BaseCommand):
    help = (
        "Show per alias: pending outbox rows, the age of the oldest pending one, retrying "
        "deliveries and dead letters (the figures /readyz and /metrics report)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--cleanup",
            action="store_true",
            help="first delete inbox rows past their TTL and old sent rows",
        )

    def handle(self, *args, cleanup=False, **options):
        if cleanup:
            for alias, counts in maintenance.cleanup().items():
                self.stdout.write(
                    f"{alias}: deleted {counts['inbox']} inbox and "
                    f"{counts['outbox']} sent outbox rows"
                )
        header = f"{'alias':<16}{'pending':>9}{'oldest':>10}{'retrying':>10}{'dead':>7}"
        self.stdout.write(header)
        for figures in backlogs():
            age = f"{figures.oldest_pending_age:.1f}s" if figures.pending else "-"
            self.stdout.write(
                f"{figures.alias:<16}{figures.pending:>9}{age:>10}"
                f"{figures.retrying:>10}{figures.dead:>7}"
            )
