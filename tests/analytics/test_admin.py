"""Analytics in the admin: saved through the commands; the app's bus tables and
its activity listed, read-only."""

import pytest

from analytics.models import AnalyticsRecord
from edn_core.testing import EventBus

pytestmark = pytest.mark.django_db(databases="__all__")
ADMIN = "/admin/analytics"
RECORDS = f"{ADMIN}/analyticsrecord"
READ_ONLY = ["outboxmessage", "inboxentry", "faileddelivery", "analyticsactivity"]


def test_the_admin_creates_and_renames_through_the_commands(admin_client):
    bus = EventBus()
    assert admin_client.post(f"{RECORDS}/add/", {"name": "First"}).status_code == 302
    row = AnalyticsRecord.objects.get()
    assert (row.name, row.version) == ("First", 1)
    changed = admin_client.post(f"{RECORDS}/{row.pk}/change/", {"name": "Second"})
    assert changed.status_code == 302
    row.refresh_from_db()
    assert (row.name, row.version) == ("Second", 2)
    ours = [event.topic for event in bus.published() if event.source == "/analytics"]
    assert ours == ["v1.AnalyticsCreated"]


@pytest.mark.parametrize("table", READ_ONLY)
def test_the_read_only_tables_are_listed_and_cannot_be_added_to(admin_client, table):
    assert admin_client.get(f"{ADMIN}/{table}/").status_code == 200
    assert admin_client.get(f"{ADMIN}/{table}/add/").status_code == 403
