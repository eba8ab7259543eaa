"""A consumer whose remote registry (``EDN_SCHEMA_REGISTRY_URL``) answers 503 retries the
delivery later instead of dead-lettering it, on the single and the batch path; once the
registry answers again the event is applied exactly once. The registry is a stand-in on a
local port that serves the apps' schema files (tests/edn_core/test_registry_outage_on_consume.py
covers a registry that refuses connections)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from edn_core import schemas
from edn_core.bus import retries
from edn_core.bus.batch import deliver_batch
from edn_core.bus.dispatch import DUPLICATE, FAILED, deliver
from edn_core.bus.stores import store_for
from edn_core.management.commands.edn_schemas import schema_files
from orders.models import OrderEvent
from schema_registry.source import LocalSchemaSource
from tests.orders.factories import PlaceOrderFactory, stored_order
from tests.schema_registry.stub_registry import StubRegistry
from tests.support.events import address_updated

pytestmark = pytest.mark.django_db(databases="__all__")
TOPIC = "v1.CustomerAddressUpdated"
CONSUMER = "orders.update_shipping_address_of_open_orders"
ADDRESS = {"street": "1 Rue", "city": "Lyon", "state": "R", "country": "FR", "postalCode": "69"}


class Registry:
    """A remote registry serving version 1 of every schema file, or 503 while ``up`` is
    false."""

    def __init__(self) -> None:
        self.up = True
        self.files = sorted(schema_files().items())

    def down(self) -> None:
        self.up = False
        schemas.forget_cached()  # what a fresh consumer process holds: nothing

    def answer(self, method, path, body):
        if not self.up:
            return 503, {"error_code": 50001, "message": "store unavailable"}
        for number, (subject, file) in enumerate(self.files, start=1):
            if f"/subjects/{subject}/versions/" in path:
                document = file.read_text()
                return 200, {"subject": subject, "version": 1, "id": number, "schema": document}
        return 404, {"error_code": 40401, "message": "Subject not found"}


@pytest.fixture
def registry(settings):
    registry = Registry()
    server = StubRegistry(registry.answer)
    settings.EDN_SCHEMA_REGISTRY_URL = server.url
    schemas.install_local_source(None)  # this process no longer hosts it (cache dropped)
    registry.asked = server.requests
    yield registry
    schemas.install_local_source(LocalSchemaSource())
    server.close()


def address_changed(customer_id) -> str:
    return address_updated(customer_id, ADDRESS).to_json()


def retry_all_due() -> None:
    retries.retry_due(store_for("orders"), now=timezone.now() + timedelta(days=1))


@pytest.mark.parametrize("path", ["single", "batch"])
def test_a_503_registry_while_consuming_is_retried_then_the_event_is_applied_once(registry, path):
    """While the registry answers 503 the delivery waits (retrying, no attempt counted, no
    inbox row, the order untouched) however often it is retried; once it answers, one retry
    applies the event; delivering it again is a duplicate and changes nothing."""
    order = PlaceOrderFactory.create()
    registry.down()
    stream = OrderEvent.objects.using("orders").filter(stream_id=str(order.id))
    events_before = stream.count()
    envelope = address_changed(order.customer_id)
    event_id = json.loads(envelope)["id"]
    store = store_for("orders")
    failure = store.rows(store.failures).filter(consumer=CONSUMER, event_id=event_id)
    inbox = store.rows(store.inbox).filter(consumer=CONSUMER, event_id=event_id)

    outcome = deliver(envelope) if path == "single" else deliver_batch([envelope])
    assert outcome == ({CONSUMER: FAILED} if path == "single" else {FAILED: 1})
    for _ in range(3):
        retry_all_due()
    row = failure.get()
    assert (row.status, row.attempts) == (row.RETRYING, 0), row.last_error
    assert "HTTP 503" in row.last_error and registry.asked
    assert not inbox.exists() and stream.count() == events_before

    registry.up = True
    retry_all_due()
    assert failure.get().status == row.RESOLVED
    assert inbox.count() == 1 and stream.count() == events_before + 1
    assert stored_order(order.id).shipping_address.city == "Lyon"

    assert deliver(envelope) == {CONSUMER: DUPLICATE}
    retry_all_due()
    assert inbox.count() == 1 and stream.count() == events_before + 1
