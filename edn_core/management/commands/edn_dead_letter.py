"""``python manage.py edn_dead_letter [--app orders]``: make one dead letter on purpose, to see
what one looks like in the admin (its error, its envelope, "Replay now"). Development only.

The event is one a handler of the app subscribes to, with data that fails the topic's schema:
the consumer keeps it as a dead letter at once, and a replay fails the same way (delete it
when done). No handler runs and nothing else changes.
"""

import uuid

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils import timezone

from edn_core.bus.dispatch import run_subscription
from edn_core.bus.stores import store_for
from edn_core.bus.subscriptions import subscriptions
from edn_core.events import IntegrationEvent

DEMO_DATA = {"demo": "an event that fails its schema on purpose (manage.py edn_dead_letter)"}


class Command(BaseCommand):
    help = (
        "Development only (DJANGO_DEBUG=1): deliver one event that fails its schema to one "
        "handler of a hosted app, which keeps it as a dead letter; print its admin page."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--app", help="the app whose handler gets it (default: the first hosted one)"
        )

    def handle(self, *args, app=None, **options):
        if not settings.DEBUG:
            raise CommandError("edn_dead_letter is for development only: set DJANGO_DEBUG=1")
        sub = self._subscription(app)
        event = IntegrationEvent(
            id=str(uuid.uuid4()),
            topic=sub.topic,
            source="/edn_dead_letter",
            time=timezone.now(),
            aggregate_id="edn-dead-letter-demo",
            sequence=0,
            correlation_id=str(uuid.uuid4()),
            causation_id=None,
            traceparent="",
            data=DEMO_DATA,
        )
        outcome = run_subscription(sub, event, event.to_json())
        store = store_for(sub.app_label)
        row = store.rows(store.failures).get(consumer=sub.consumer, event_id=event.id)
        opts = row._meta
        page = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
        self.stdout.write(
            f"{sub.consumer} received {sub.topic} {event.id}: {outcome}\n"
            f"  status: {row.get_status_display()}\n"
            f"  error: {row.last_error[:300]}\n"
            f"  admin: {page} ({opts.app_config.verbose_name} > Dead letters)"
        )

    def _subscription(self, app: str | None):
        hosted = [s for s in subscriptions() if s.app_label in settings.EDN_SERVICES]
        candidates = [s for s in hosted if app in (None, s.app_label)]
        if not candidates:
            apps = sorted({s.app_label for s in hosted}) or "none"
            raise CommandError(f"no hosted app {app or ''} subscribes to an event (apps: {apps})")
        return min(candidates, key=lambda s: (settings.EDN_SERVICES.index(s.app_label), s.consumer))
