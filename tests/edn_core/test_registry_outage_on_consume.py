"""A schema registry that cannot be reached while events are consumed is an outage: the
delivery waits and is retried, however long it lasts, and never becomes a dead letter (a
schema that does not match, or a version the registry does not have, still is one)."""

import socket
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from edn_core import schemas, tracing
from edn_core.bus import retries
from edn_core.bus.batch import deliver_batch
from edn_core.bus.config import bus_config
from edn_core.bus.dispatch import DEAD_LETTERED, FAILED, deliver
from edn_core.bus.stores import store_for
from edn_core.events import IntegrationEvent
from schema_registry.source import LocalSchemaSource
from tests.orders.factories import PlaceOrderFactory, stored_order

pytestmark = pytest.mark.django_db(databases="__all__")
TOPIC = "v1.CustomerAddressUpdated"
CONSUMER = "orders.update_shipping_address_of_open_orders"
ADDRESS = {"street": "1 Rue", "city": "Lyon", "state": "R", "country": "FR", "postalCode": "69"}


def address_changed(customer_id: str, dataschema: str | None = None) -> str:
    return IntegrationEvent(
        id=str(uuid.uuid4()),
        topic=TOPIC,
        source="/customers",
        time=timezone.now(),
        aggregate_id=customer_id,
        sequence=2,
        correlation_id="c",
        causation_id=None,
        traceparent=tracing.child_traceparent(None),
        data={"customerId": customer_id, "shippingAddress": ADDRESS},
        dataschema=dataschema,
    ).to_json()


class Registry:
    """This process's registry, which the test makes remote and unreachable, then back."""

    def __init__(self, settings) -> None:
        self.settings = settings

    def down(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]  # nothing listens there once the socket closes
        self.settings.EDN_SCHEMA_REGISTRY_URL = f"http://127.0.0.1:{port}"
        schemas.install_local_source(None)

    def back(self) -> None:
        schemas.install_local_source(LocalSchemaSource())


@pytest.fixture
def registry(settings):
    registry = Registry(settings)
    yield registry
    registry.back()


def failure_row():
    store = store_for("orders")
    return store.rows(store.failures).get(consumer=CONSUMER)


def retry_all_due() -> None:
    store = store_for("orders")
    retries.retry_due(store, now=timezone.now() + timedelta(days=1))


@pytest.mark.parametrize("path", ["single", "batch"])
def test_a_registry_outage_while_consuming_is_retried_never_dead_lettered(registry, path):
    customer_id = uuid.uuid4()
    order = PlaceOrderFactory.create(customer_id=customer_id)
    envelope = address_changed(str(customer_id))
    registry.down()
    if path == "single":
        assert deliver(envelope) == {CONSUMER: FAILED}
    else:
        assert deliver_batch([envelope]) == {FAILED: 1}
    row = failure_row()
    assert row.status == row.RETRYING and row.attempts == 0 and row.next_attempt_at
    assert "registry" in row.last_error

    for _ in range(bus_config().max_attempts * 2):  # far longer than a handler's attempts
        retry_all_due()
    row = failure_row()
    assert row.status == row.RETRYING and row.attempts == 0, row.last_error

    registry.back()
    retry_all_due()
    row = failure_row()
    assert row.status == row.RESOLVED
    assert stored_order(order.id).shipping_address.city == "Lyon"


def test_an_outage_waits_longer_the_longer_it_lasts(registry):
    registry.down()
    deliver(address_changed(str(uuid.uuid4())))
    store, row = store_for("orders"), failure_row()
    first_wait = row.next_attempt_at - row.updated_at
    store.rows(store.failures).filter(pk=row.pk).update(
        created_at=timezone.now() - timedelta(minutes=2)
    )
    retry_all_due()
    row = failure_row()
    assert row.next_attempt_at - row.updated_at >= timedelta(minutes=1) > first_wait
    assert row.next_attempt_at - row.updated_at <= timedelta(seconds=bus_config().retry_max_seconds)


def test_a_version_the_registry_does_not_have_is_still_a_dead_letter():
    envelope = address_changed(str(uuid.uuid4()), f"urn:edn:schema:{TOPIC}:99:1")
    assert deliver(envelope) == {CONSUMER: DEAD_LETTERED}
    row = failure_row()
    assert row.status == row.DEAD
    assert "No schema is registered" in row.last_error and "edn_schemas register" in row.last_error
