"""Fakes for the Dapr tests: a sidecar on a real socket, and what the sidecar would deliver.

The fake follows Dapr's documented HTTP contract (pub/sub API reference, runtime 1.17+): it
records every request and answers 204 unless a test scripts another answer. :class:`HttpSidecar`
shows it to the publisher contract (tests/edn_core/dapr_contract.py) as the gRPC fake shows
itself: publish calls, scripted failures.
"""

from __future__ import annotations

import json
import threading
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from django.db import OperationalError
from django.utils import timezone

from edn_core import tracing
from edn_core.bus.dispatch import deliver
from edn_core.cqrs import send
from edn_core.events import IntegrationEvent
from tests.edn_core.dapr_grpc_fakes import Call, Entry
from tests.support.processes import free_port  # noqa: F401  (the Dapr tests' port)

TOPIC = "v1.CustomerAddressUpdated"
EVENTS = f"/dapr/events/{TOPIC}"
CLOUDEVENTS_JSON = "application/cloudevents+json"
TOKEN = {"dapr-api-token": "app-secret"}
TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
ADDRESS = {"street": "9 Dapr Way", "city": "B", "state": "S", "country": "C", "postal_code": "1"}


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self):
        return json.loads(self.body)


class FakeSidecar:
    """A Dapr sidecar's HTTP API on 127.0.0.1; ``answer(request) -> (status, body)``."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.answer = lambda request: (204, b"")
        sidecar = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the transport's client pools

            def do_POST(self):
                url = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                request = Received("POST", url.path, parse_qs(url.query), headers, body)
                sidecar.requests.append(request)
                status, payload = sidecar.answer(request)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                if status != 204:
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(b"" if status == 204 else data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def __enter__(self) -> FakeSidecar:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class HttpSidecar:
    """A :class:`FakeSidecar` seen through the publisher contract's interface: ``calls`` in the
    gRPC fake's shape, ``fail_call(n)``, ``fail_bulk(indexes or None)``, ``contacts()``."""

    def __init__(self, fake: FakeSidecar) -> None:
        self.fake, self._failing, self._bulk = fake, set(), False
        fake.answer = self._answer

    @property
    def requests(self) -> list[Received]:
        return self.fake.requests

    @property
    def calls(self) -> list[Call]:
        return [_as_call(request) for request in self.fake.requests]

    def contacts(self) -> int:
        return len(self.fake.requests)

    def fail_call(self, number: int) -> None:
        """Answer request ``number`` (1-based) with a 500."""
        self._failing.add(number)

    def fail_bulk(self, failed: list[int] | None) -> None:
        """Answer the bulk requests with a 500 listing these entries as failed (``None``: a
        500 whose body lists nothing usable)."""
        self._bulk = failed

    def _answer(self, request: Received):
        if len(self.fake.requests) in self._failing:
            return 500, {"errorCode": "ERR_PUBSUB_PUBLISH_MESSAGE"}
        if "/bulk/" in request.path and self._bulk is not False:
            ids = [entry["entryId"] for entry in request.json()]
            listed = [{"entryId": ids[i], "error": "broker said no"} for i in self._bulk or []]
            body = {"failedEntries": listed, "errorCode": "ERR_PUBSUB_PUBLISH_MESSAGE"}
            return 500, body if self._bulk is not None else b"gateway on fire"
        return 204, b""


def _as_call(request: Received) -> Call:
    *_, pubsub, topic = (unquote(part) for part in request.path.split("/"))
    if "/bulk/" not in request.path:
        partition = {"partitionKey": request.query["metadata.partitionKey"][0]}
        entry = Entry(None, request.body, request.headers["content-type"], partition)
        return Call(request.path, False, pubsub, topic, [entry], request.headers)
    entries = [
        Entry(e["entryId"], json.dumps(e["event"]).encode(), e["contentType"], e["metadata"])
        for e in request.json()
    ]
    return Call(request.path, True, pubsub, topic, entries, request.headers)


def post(client, body, url=EVENTS, content_type=CLOUDEVENTS_JSON, headers=TOKEN):
    """Post to the app as the sidecar does."""
    return client.post(url, body, content_type=content_type, headers=headers)


def database_down_for(event_id: str):
    """A ``deliver`` that fails as a database outage for envelopes naming ``event_id``."""

    def deliver_or_fail(raw):
        if event_id in str(raw):
            raise OperationalError("could not connect to server")
        return deliver(raw)

    return deliver_or_fail


def as_delivered_by_dapr(envelope: str | bytes, pubsub: str = "pubsub") -> dict:
    """What the sidecar posts for an envelope published as application/cloudevents+json:
    the same attributes plus ``topic``/``pubsubname``, and trace fields from its own span."""
    event = json.loads(envelope)
    span = tracing.child_traceparent(event.get("traceparent"))
    event.update(topic=event["type"], pubsubname=pubsub, traceid=span, traceparent=span)
    event["tracestate"] = ""
    return event


def envelope(topic: str = TOPIC, **data) -> str:
    """A valid envelope (an address change of an unknown customer unless ``data`` is given)."""
    address = {**ADDRESS, "postalCode": ADDRESS["postal_code"]}
    address.pop("postal_code")
    return IntegrationEvent(
        id=str(uuid.uuid4()),
        topic=topic,
        source="/customers",
        time=timezone.now(),
        aggregate_id=str(uuid.uuid4()),
        sequence=2,
        correlation_id="c",
        causation_id=None,
        traceparent=tracing.child_traceparent(None),
        data=data or {"customerId": str(uuid.uuid4()), "shippingAddress": address},
    ).to_json()


def change_address(customer, **address):
    from customers.commands import UpdateCustomer

    result = send(
        UpdateCustomer(
            customer_id=customer.id, expected_version=None, shipping_address=address or ADDRESS
        )
    )
    assert result.accepted, result
    return result.value


def address_changes(count: int, *, traceparent: str | None = None) -> list:
    """Change the address of ``count`` new customers; return the customers' outbox rows."""
    from customers.models import OutboxMessage
    from tests.customers.factories import CreateCustomerFactory

    context = tracing.MessageContext("corr", None, traceparent) if traceparent else None
    with tracing.using(context) if context else nullcontext():
        for _ in range(count):
            change_address(CreateCustomerFactory.create())
    return list(OutboxMessage.objects.order_by("id"))


def customer_with_order():
    from orders.commands import PlaceOrder
    from tests.customers.factories import CreateCustomerFactory

    customer = CreateCustomerFactory.create()
    result = send(
        PlaceOrder(
            customer_id=customer.id,
            shipping_address=dict(customer.shipping_address.__dict__),
            items=[
                {
                    "product_id": uuid.uuid4(),
                    "product_name": "Widget",
                    "product_price": Decimal("7.50"),
                    "quantity": 3,
                }
            ],
        )
    )
    assert result.accepted, result
    return customer, result.value
