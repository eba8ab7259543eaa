from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from edn_core import schemas
from edn_core.revocations import APP, TOPIC
from edn_core.revocations.events import revoke
from edn_core.routers import alias_for


class Command(BaseCommand):
    help = (
        "Revoke the tokens of SUBJECT (their sub claim, a username for edn_token's tokens) "
        "issued until now, in every service: publishes v1.SubjectRevoked; each service "
        "refuses them once it has handled the event. The subject need not be a user here."
    )

    def add_arguments(self, parser):
        parser.add_argument("subject")
        parser.add_argument("--reason", default="revoked by an operator", help="kept with it")

    def handle(self, *args, subject, reason, **options):
        if not subject.strip() or len(subject) > 255:
            raise CommandError("SUBJECT must be 1 to 255 characters long")
        if len(reason) > 200:
            raise CommandError("--reason must be at most 200 characters long")
        schemas.prepare_for_publish([TOPIC])  # no registry call inside the transaction
        with transaction.atomic(using=alias_for(APP)):
            event = revoke(subject, reason=reason)
        self.stdout.write(
            f"revoked the tokens of {subject!r} issued before {event.data['notBefore']} "
            f"({reason}): event {event.id} is in the outbox; each service refuses them once "
            "it has handled it"
        )
