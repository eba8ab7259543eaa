from django.core.management.base import BaseCommand
from django.db.models import Count, Min, Q
from django.utils import timezone

from edn_core.bus import maintenance
from edn_core.bus.stores import all_stores


class Command(BaseCommand):
    help = (
        "Show per alias: pending outbox rows, the oldest pending age, retrying deliveries "
        "and dead letters."
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
        now = timezone.now()
        header = f"{'alias':<16}{'pending':>9}{'oldest':>10}{'retrying':>10}{'dead':>7}"
        self.stdout.write(header)
        for store in all_stores():
            outbox = (
                store.rows(store.outbox)
                .filter(sent_at__isnull=True)
                .aggregate(n=Count("id"), oldest=Min("created_at"))
            )
            failures = store.rows(store.failures).aggregate(
                retrying=Count("id", filter=Q(status="retrying")),
                dead=Count("id", filter=Q(status="dead")),
            )
            age = f"{(now - outbox['oldest']).total_seconds():.1f}s" if outbox["oldest"] else "-"
            self.stdout.write(
                f"{store.alias:<16}{outbox['n']:>9}{age:>10}"
                f"{failures['retrying']:>10}{failures['dead']:>7}"
            )
