"""A publish never asks the schema registry while a transaction is open: the schemas of the
topics a process publishes are resolved before a command's or a delivery's transaction opens
(an HTTP call there would hold the aggregate's row locks for as long as the registry takes).

The registry here is "remote" (its "latest" expires at once, so each publish would have to ask
again) and records whether a transaction was open on any alias when it was asked."""

import uuid

import pytest
from django.db import connections
from django.utils import timezone

from customers.commands import UpdateCustomer
from customers.models import CustomerRecord
from edn_core import schemas, tracing
from edn_core.apps import install_remote_schema_source
from edn_core.bus.batch import deliver_batch
from edn_core.bus.dispatch import HANDLED, deliver
from edn_core.bus.subscriptions import subscribe, unsubscribe
from edn_core.cqrs import send
from edn_core.events import IntegrationEvent
from schema_registry.source import LocalSchemaSource
from tests.customers.factories import CreateCustomerFactory, customer_payload

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)
PUBLISHED = "v1.CustomerAddressUpdated"
PING = "v1.TestPinged"


class RecordingRegistry(LocalSchemaSource):
    """The registry's tables, asked as if over HTTP; ``down`` makes it unreachable."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, bool]] = []
        self.down = False

    def get(self, subject, version):
        in_transaction = any(c.in_atomic_block for c in connections.all(initialized_only=True))
        self.asked.append((subject, in_transaction))
        if self.down:
            raise schemas.RegistryUnavailable("The schema registry did not answer (ConnectError).")
        return super().get(subject, version)

    def asked_inside_a_transaction(self) -> list[str]:
        return [subject for subject, in_transaction in self.asked if in_transaction]


@pytest.fixture
def registry(settings):
    settings.EDN_SCHEMA_LATEST_TTL = 0  # every publish would fetch "latest" again
    LocalSchemaSource().register(PING, {"type": "object"})
    remote = RecordingRegistry()
    schemas.install_local_source(None)
    schemas.install_remote_source(remote)
    yield remote
    install_remote_schema_source()
    schemas.install_local_source(LocalSchemaSource())


def move(customer, city: str) -> None:
    address = {"city": city}
    send(UpdateCustomer(customer_id=customer.id, expected_version=None, shipping_address=address))


def test_a_command_resolves_its_schema_before_its_transaction(api, registry):
    customer = CreateCustomerFactory.create()
    registry.asked.clear()
    body = customer_payload(shippingAddress={**customer_payload()["shippingAddress"], "city": "X"})
    response = api.put(
        f"/api/customers/{customer.id}", body, format="json", HTTP_IF_MATCH=f'"{customer.version}"'
    )
    assert response.status_code == 200, response.content
    assert (PUBLISHED, False) in registry.asked
    assert registry.asked_inside_a_transaction() == []


@pytest.mark.parametrize("path", ["single", "batch"])
def test_a_handler_that_publishes_has_its_schema_resolved_before_the_delivery(registry, path):
    customer = CreateCustomerFactory.create()

    def move_customer(event):
        move(customer, event.data["city"])

    subscribe(PING, app="customers")(move_customer)
    try:
        registry.asked.clear()
        envelope = ping(city="Lyon")
        if path == "single":
            assert deliver(envelope) == {"customers.move_customer": HANDLED}
        else:
            assert deliver_batch([envelope]) == {HANDLED: 1}
    finally:
        unsubscribe("customers.move_customer")
    assert CustomerRecord.objects.get(pk=customer.id).city == "Lyon"
    assert (PUBLISHED, False) in registry.asked
    assert registry.asked_inside_a_transaction() == []


def test_a_registry_outage_is_met_before_the_transaction_and_asked_once(api, registry, monkeypatch):
    monkeypatch.setattr(schemas.RegistryUnavailable, "retry_after", 3600)  # not asked again
    customer = CreateCustomerFactory.create()
    registry.down, registry.asked = True, []
    with pytest.raises(schemas.RegistryUnavailable, match=f"The schema of {PUBLISHED}"):
        move(customer, "Nowhere")
    assert len(registry.asked) == 1  # the other topics were not asked after it did not answer
    assert registry.asked_inside_a_transaction() == []
    assert CustomerRecord.objects.get(pk=customer.id).version == customer.version

    move_again = api.patch(
        f"/api/customers/{customer.id}",
        {"shippingAddress": {"city": "Nowhere"}},
        format="json",
        HTTP_IF_MATCH=f'"{customer.version}"',
    )
    assert move_again.status_code == 503  # refused again, without asking the registry
    assert move_again.json()["type"] == "urn:edn:problem:schema-registry-unavailable"
    assert len(registry.asked) == 1


def ping(**data) -> str:
    return IntegrationEvent(
        id=str(uuid.uuid4()),
        topic=PING,
        source="/tests",
        time=timezone.now(),
        aggregate_id="a",
        sequence=1,
        correlation_id="c",
        causation_id=None,
        traceparent=tracing.child_traceparent(None),
        data=data,
    ).to_json()
