from django.core.management.base import BaseCommand, CommandError

from edn_core.eventsourcing.forgetting import Forgotten, apps_with_subject_keys, forget_subject


class Command(BaseCommand):
    help = (
        "Forget a data subject: destroy its key, so its personal fields in every event read as "
        "their redacted values; delete the snapshots (and published outbox rows) of the streams "
        "holding them; tell projections to re-project those streams. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("subject", help="the data subject's id, e.g. a customer id")
        parser.add_argument(
            "--app", action="append", help="an app to forget it in (default: every app with keys)"
        )
        parser.add_argument(
            "--purge-failed",
            action="store_true",
            help="also delete unresolved dead letters naming the subject (gives up their delivery)",
        )

    def handle(self, *args, subject, app, purge_failed, **options):
        known = apps_with_subject_keys()
        unknown = sorted(set(app or []) - set(known))
        if unknown:
            raise CommandError(f"no SubjectKey table in {', '.join(unknown)} (apps: {known})")
        kept = False
        for app_label in app or known:
            done = forget_subject(app_label, subject, purge_failed=purge_failed)
            self._report(done)
            kept = kept or bool(done.failed_kept)
        if kept:
            self.stderr.write(
                "Unresolved dead letters still name the subject: resolve them, or run again "
                "with --purge-failed."
            )

    def _report(self, done: Forgotten) -> None:
        key = "destroyed now" if done.newly else f"destroyed already ({done.forgotten_at:%c})"
        out = self.stdout.write
        out(f"{done.app_label}: the key of {done.subject} {key}")
        out(f"  {len(done.stream_ids)} streams hold its sealed fields: re-projection requested")
        out(f"  {done.snapshots_deleted} snapshots deleted")
        out(f"  {done.sent_outbox_deleted} published outbox rows of those streams deleted")
        if done.pending_outbox:
            out(f"  {done.pending_outbox} outbox rows of those streams not published yet")
        out(f"  {done.failed_deleted} dead letters naming the subject deleted")
        for row_id, topic, status in done.failed_kept:
            out(f"  kept: failed delivery {row_id} of {topic} ({status})")
