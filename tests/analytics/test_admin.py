"""Analytics in the admin: the statistics read models and the app's bus tables are listed,
read-only (the stream processors keep the statistics)."""

import pytest

from tests.analytics.factories import (
    CustomerSessionFactory,
    OrderMinuteFactory,
    ProductMinuteFactory,
)

pytestmark = pytest.mark.django_db(databases="__all__")
ADMIN = "/admin/analytics"
READ_ONLY = ["orderminute", "productminute", "customersession", "outboxmessage", "inboxentry"]


@pytest.mark.parametrize("table", READ_ONLY)
def test_the_read_only_tables_are_listed_and_cannot_be_added_to(admin_client, table):
    OrderMinuteFactory()
    ProductMinuteFactory()
    CustomerSessionFactory()
    assert admin_client.get(f"{ADMIN}/{table}/").status_code == 200
    assert admin_client.get(f"{ADMIN}/{table}/add/").status_code == 403


def test_a_row_is_shown_and_cannot_be_changed(admin_client):
    row = OrderMinuteFactory()
    page = admin_client.get(f"{ADMIN}/orderminute/{row.pk}/change/")
    assert page.status_code == 200 and b"Save" not in page.content
    assert admin_client.post(f"{ADMIN}/orderminute/{row.pk}/change/", {}).status_code == 403
