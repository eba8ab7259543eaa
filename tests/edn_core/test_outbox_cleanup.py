"""``edn_outbox --cleanup``: what it deletes and, as much, what it must keep.

Rows are made with their timestamps set around the retention limits (``EDN_BUS`` inbox TTL
and sent retention, 7 days each here): the command must delete exactly the inbox rows
processed before the TTL and the outbox rows sent before the retention, and keep every unsent
row however old (the relay still owes it to the broker).
"""

import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from orders.models import InboxEntry, OutboxMessage

pytestmark = pytest.mark.django_db(databases="__all__")
DAY = timedelta(days=1)


def outbox_row(name: str, created_ago: timedelta, sent_ago: timedelta | None) -> OutboxMessage:
    now = timezone.now()
    return OutboxMessage.objects.create(
        event_id=uuid.uuid4(),
        topic="v1.TestPinged",
        aggregate_id=name,
        sequence=1,
        partition=0,
        envelope="{}",
        created_at=now - created_ago,
        sent_at=None if sent_ago is None else now - sent_ago,
    )


def inbox_row(name: str, processed_ago: timedelta) -> InboxEntry:
    return InboxEntry.objects.create(
        consumer="orders.cleanup_test",
        event_id=str(uuid.uuid4()),
        topic="v1.TestPinged",
        aggregate_id=name,
        sequence=1,
        processed_at=timezone.now() - processed_ago,
    )


def test_cleanup_deletes_exactly_the_rows_past_their_retention(settings, capsys):
    """Proves the command deletes the old sent and old inbox rows, and only those: unsent
    rows (even 30 days old), recently sent rows and recent inbox rows stay."""
    settings.EDN_BUS = {**settings.EDN_BUS, "inbox_ttl_days": 7, "sent_retention_days": 7}
    outbox_row("sent-long-ago", created_ago=30 * DAY, sent_ago=30 * DAY)
    outbox_row("sent-8-days-ago", created_ago=9 * DAY, sent_ago=8 * DAY)
    outbox_row("sent-6-days-ago", created_ago=30 * DAY, sent_ago=6 * DAY)
    outbox_row("never-sent", created_ago=30 * DAY, sent_ago=None)
    outbox_row("sent-now", created_ago=timedelta(0), sent_ago=timedelta(0))
    inbox_row("processed-long-ago", 30 * DAY)
    inbox_row("processed-8-days-ago", 8 * DAY)
    inbox_row("processed-6-days-ago", 6 * DAY)
    inbox_row("processed-now", timedelta(0))

    call_command("edn_outbox", "--cleanup")

    assert "orders: deleted 2 inbox and 2 sent outbox rows" in capsys.readouterr().out
    kept_outbox = set(OutboxMessage.objects.values_list("aggregate_id", flat=True))
    assert kept_outbox == {"sent-6-days-ago", "never-sent", "sent-now"}
    kept_inbox = set(
        InboxEntry.objects.filter(consumer="orders.cleanup_test").values_list(
            "aggregate_id", flat=True
        )
    )
    assert kept_inbox == {"processed-6-days-ago", "processed-now"}
