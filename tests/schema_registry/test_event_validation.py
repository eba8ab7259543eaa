"""Events are validated against the registry at publish and at consume."""

import json
import socket
import uuid
from pathlib import Path

import pytest
from django.utils import timezone

from customers.models import CustomerRecord
from customers.models import OutboxMessage as CustomerOutbox
from edn_core import schemas, tracing
from edn_core.bus.dispatch import DEAD_LETTERED, deliver
from edn_core.events import _PUBLICATIONS, IntegrationEvent, Publication
from edn_core.testing import EventBus
from schema_registry.source import LocalSchemaSource
from tests.customers.factories import CreateCustomerFactory
from tests.orders.factories import stored_order
from tests.test_flows import order_payload

pytestmark = pytest.mark.django_db(databases="__all__")
TOPIC = "v1.CustomerAddressUpdated"
SCHEMA_FILE = (
    Path(__file__).resolve().parents[2] / "customers/schemas/v1.CustomerAddressUpdated.json"
)
CONSUMER = "orders.update_shipping_address_of_open_orders"


def address_event(data: dict, dataschema: str | None = None) -> str:
    return IntegrationEvent(
        id=str(uuid.uuid4()),
        topic=TOPIC,
        source="/customers",
        time=timezone.now(),
        aggregate_id=data.get("customerId", "x"),
        sequence=2,
        correlation_id="c",
        causation_id=None,
        traceparent=tracing.child_traceparent(None),
        data=data,
        dataschema=dataschema,
    ).to_json()


def test_published_envelope_names_the_registry_version(api):
    bus = EventBus()
    customer = CreateCustomerFactory.create()
    api.patch(
        f"/api/customers/{customer.id}",
        {"shippingAddress": {"city": "Lyon"}},
        format="json",
        HTTP_IF_MATCH=f'"{customer.version}"',
    )
    (event,) = bus.published(TOPIC)
    registered = schemas.lookup(TOPIC, None)
    assert event.dataschema == f"urn:edn:schema:{TOPIC}:{registered.version}:{registered.id}"


def test_wrong_field_type_fails_the_command_with_a_clear_error_and_writes_nothing(api, monkeypatch):
    customer = CreateCustomerFactory.create()
    key = next(k for k, p in _PUBLICATIONS.items() if p.topic == TOPIC)
    original = _PUBLICATIONS[key].to_data
    monkeypatch.setitem(
        _PUBLICATIONS,
        key,
        Publication(TOPIC, lambda event: {**original(event), "customerId": 12345}),
    )
    response = api.patch(
        f"/api/customers/{customer.id}",
        {"shippingAddress": {"city": "Lyon"}},
        format="json",
        HTTP_IF_MATCH=f'"{customer.version}"',
    )
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "urn:edn:problem:invalid-input"
    assert TOPIC in body["detail"] and "registered schema" in body["detail"]
    assert "customerId" in body["errors"]
    row = CustomerRecord.objects.get(pk=customer.id)
    assert row.version == customer.version and row.city == customer.shipping_address.city
    assert CustomerOutbox.objects.count() == 0


def test_data_the_schema_forbids_is_refused_even_when_the_dto_allowed_it(api):
    """A stricter registered version (mode NONE) is enforced at publish."""
    strict = json.loads(SCHEMA_FILE.read_text())
    strict["properties"]["shippingAddress"]["properties"]["postalCode"]["pattern"] = "^[0-9]+$"
    api.put(f"/api/schemas/config/{TOPIC}", {"compatibility": "NONE"}, format="json")
    assert (
        api.post(
            f"/api/schemas/subjects/{TOPIC}/versions", {"schema": strict}, format="json"
        ).status_code
        == 200
    )
    customer = CreateCustomerFactory.create()
    response = api.patch(
        f"/api/customers/{customer.id}",
        {"shippingAddress": {"postalCode": "AB-1"}},
        format="json",
        HTTP_IF_MATCH=f'"{customer.version}"',
    )
    assert response.status_code == 400
    assert "shippingAddress.postalCode" in response.json()["errors"]
    assert CustomerOutbox.objects.count() == 0


def test_invalid_data_in_a_delivered_envelope_is_dead_lettered(api):
    customer = api.post(
        "/api/customers",
        {
            "firstName": "A",
            "lastName": "B",
            "creditLimit": "1.00",
            "shippingAddress": {
                "street": "s",
                "city": "c",
                "state": "st",
                "country": "co",
                "postalCode": "1",
            },
        },
        format="json",
    ).json()
    order = api.post(
        "/api/orders", order_payload(customer["id"], customer["shippingAddress"]), format="json"
    )
    envelope = address_event(
        {"customerId": customer["id"], "shippingAddress": {"street": 42, "city": "c"}}
    )
    assert deliver(envelope) == {CONSUMER: DEAD_LETTERED}
    (dead,) = EventBus().dead_letters()
    assert dead.consumer == CONSUMER and "registered schema" in dead.last_error
    assert "shippingAddress.street" in dead.last_error
    assert stored_order(order.json()["id"]).version == 1  # never handled


def test_consumer_validates_against_the_version_the_envelope_names(api):
    registered = schemas.lookup(TOPIC, None)
    customer_id = str(uuid.uuid4())
    data = {
        "customerId": customer_id,
        "shippingAddress": {
            "street": "s",
            "city": "c",
            "state": "st",
            "country": "co",
            "postalCode": "1",
        },
    }
    stricter = json.loads(SCHEMA_FILE.read_text())
    stricter["required"].append("reason")
    stricter["properties"]["reason"] = {"type": "string"}
    api.put(f"/api/schemas/config/{TOPIC}", {"compatibility": "NONE"}, format="json")
    api.post(f"/api/schemas/subjects/{TOPIC}/versions", {"schema": stricter}, format="json")
    assert deliver(address_event(data, schemas.reference(registered)))[CONSUMER] == "handled"
    assert deliver(address_event(data))[CONSUMER] == DEAD_LETTERED  # latest requires reason


def test_unknown_topic_at_consume_is_dead_lettered():
    data = {"customerId": "x"}
    envelope = address_event(data, dataschema=f"urn:edn:schema:{TOPIC}:99:1")
    assert deliver(envelope) == {CONSUMER: DEAD_LETTERED}
    assert "No schema is registered" in EventBus().dead_letters()[0].last_error


def test_validators_are_compiled_once(monkeypatch):
    calls = []

    class Counting(LocalSchemaSource):
        def get(self, subject, version):
            calls.append((subject, version))
            return super().get(subject, version)

    schemas.install_local_source(Counting())
    try:
        data = {"orderId": str(uuid.uuid4()), "customerId": str(uuid.uuid4())}
        for _ in range(50):
            schemas.validate_for_publish("v1.OrderShipped", data)
        assert calls == [("v1.OrderShipped", None)]
    finally:
        schemas.install_local_source(LocalSchemaSource())


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_service_without_the_registry_fetches_over_http_and_caches(live_server, settings):
    settings.EDN_SCHEMA_REGISTRY_TIMEOUT_SECONDS = 120  # a live_server on a loaded machine
    settings.EDN_SCHEMA_REGISTRY_URL = live_server.url
    schemas.install_local_source(None)
    try:
        data = {"orderId": str(uuid.uuid4()), "customerId": str(uuid.uuid4())}
        reference = schemas.validate_for_publish("v1.OrderShipped", data)
        assert reference.startswith("urn:edn:schema:v1.OrderShipped:")
        with pytest.raises(schemas.EventSchemaViolation):
            schemas.validate_for_publish("v1.OrderShipped", {**data, "orderId": 7})
        settings.EDN_SCHEMA_REGISTRY_URL = f"http://127.0.0.1:{_closed_port()}"
        assert schemas.validate_for_publish("v1.OrderShipped", data) == reference  # cached
        with pytest.raises(schemas.RegistryUnavailable):
            schemas.validate_for_publish("v1.OrderCancelled", data)
    finally:
        schemas.install_local_source(LocalSchemaSource())


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_unreachable_registry_fails_the_command_with_503(api, settings):
    customer = CreateCustomerFactory.create()
    settings.EDN_SCHEMA_REGISTRY_URL = f"http://127.0.0.1:{_closed_port()}"
    schemas.install_local_source(None)
    try:
        response = api.patch(
            f"/api/customers/{customer.id}",
            {"shippingAddress": {"city": "Nowhere"}},
            format="json",
            HTTP_IF_MATCH=f'"{customer.version}"',
        )
    finally:
        schemas.install_local_source(LocalSchemaSource())
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert "registry" in response.json()["detail"]
    assert CustomerRecord.objects.get(pk=customer.id).version == customer.version
