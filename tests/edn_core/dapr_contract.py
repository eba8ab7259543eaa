"""The contract every Dapr publisher keeps, whatever API of the sidecar it uses.

Subclass :class:`DaprPublisherContract` once per publisher (tests/edn_core/test_dapr.py: HTTP,
tests/edn_core/test_dapr_grpc.py: gRPC) and give it:

- ``api``: the ``EDN_DAPR_PUBLISH_API`` value; ``publisher``: the class it selects;
- a ``sidecar`` fixture: a fake sidecar on a real socket, started, with ``settings`` pointing at
  it, exposing ``calls`` (``dapr_grpc_fakes.Call`` records: method, topic, entries with the
  event bytes, content type and metadata, headers), ``fail_call(n)``, ``fail_bulk(indexes or
  None)`` and ``contacts()`` (how many requests of any kind reached it);
- a ``no_sidecar`` fixture: settings pointing where nothing listens, and ``down_error``: what the
  outbox row's ``last_error`` then says.
"""

from __future__ import annotations

import json

import pytest

from customers.models import OutboxMessage as CustomerOutbox
from edn_core import dapr_app, tracing
from edn_core.bus.relay import PublishFailed, relay_batch
from edn_core.bus.stores import store_for
from edn_core.bus.transports import get_transport
from edn_core.bus.transports.dapr import DaprPublishError
from orders.models import OrderRecord
from tests.customers.factories import CreateCustomerFactory
from tests.edn_core import dapr_fakes as fakes
from tests.edn_core.dapr_fakes import CLOUDEVENTS_JSON, TOPIC, TRACE, post

DB = pytest.mark.django_db(databases="__all__")


def sent_marks() -> list[bool]:
    return [row.sent_at is not None for row in CustomerOutbox.objects.order_by("id")]


class DaprPublisherContract:
    api: str
    publisher: type
    down_error: str
    bulk_bytes_kept = False  # whether bulk entries carry the stored bytes (else: equal JSON)

    @pytest.fixture
    def app(self, settings, client):
        settings.ROOT_URLCONF = "tests.edn_core.dapr_urls"
        settings.APP_API_TOKEN = "app-secret"
        return client

    def relay(self):
        return relay_batch(store_for("customers"), self.publisher())

    @DB
    @pytest.mark.parametrize("token", ["dapr-secret", ""])
    def test_each_row_is_published_unchanged_as_a_cloudevent(self, sidecar, settings, token):
        settings.DAPR_API_TOKEN = token
        rows = fakes.address_changes(2)  # two commands, two traces: no bulk
        assert self.publisher().publish(rows) == 2
        assert [call.bulk for call in sidecar.calls] == [False, False]
        for row, call in zip(rows, sidecar.calls, strict=True):
            (entry,) = call.entries
            assert (call.pubsub, call.topic) == ("pubsub", TOPIC)
            assert entry.body == row.envelope.encode() and entry.content_type == CLOUDEVENTS_JSON
            assert entry.metadata == {"partitionKey": row.aggregate_id}
            assert call.headers.get("dapr-api-token") == (token or None)
            assert call.headers["traceparent"] == json.loads(row.envelope)["traceparent"]

    @DB
    def test_the_relay_marks_exactly_the_rows_the_sidecar_confirmed(self, sidecar):
        fakes.address_changes(4)
        sidecar.fail_call(3)
        with pytest.raises(PublishFailed, match="not confirmed"):
            self.relay()
        assert sent_marks() == [True, True, False, False] and len(sidecar.calls) == 3
        assert CustomerOutbox.objects.order_by("id")[2].attempts == 1

    @DB
    def test_a_sidecar_that_is_not_there_confirms_nothing(self, no_sidecar):
        rows = fakes.address_changes(1)
        with pytest.raises(DaprPublishError, match=self.down_error):
            self.publisher().publish(rows)
        with pytest.raises(PublishFailed, match=self.down_error):
            self.relay()
        row = CustomerOutbox.objects.get()
        assert row.sent_at is None and row.attempts == 1
        assert row.last_error.startswith("DaprPublishError: ") and self.down_error in row.last_error

    @DB
    def test_a_run_of_one_topic_and_one_trace_is_published_in_bulk(self, sidecar):
        rows = fakes.address_changes(3, traceparent=TRACE)
        assert self.publisher().publish(rows) == 3
        (call,) = sidecar.calls
        assert call.bulk and (call.pubsub, call.topic) == ("pubsub", TOPIC)
        assert call.headers["traceparent"] == TRACE
        assert call.headers["dapr-api-token"] == "dapr-secret"
        assert [e.entry_id for e in call.entries] == [str(row.event_id) for row in rows]
        events = [json.loads(e.body) for e in call.entries]
        assert events == [json.loads(row.envelope) for row in rows]
        if self.bulk_bytes_kept:
            assert [e.body for e in call.entries] == [row.envelope.encode() for row in rows]
        assert [e.content_type for e in call.entries] == [CLOUDEVENTS_JSON] * 3
        assert [e.metadata for e in call.entries] == [
            {"partitionKey": r.aggregate_id} for r in rows
        ]

    @DB
    @pytest.mark.parametrize(("failed", "sent"), [([3, 1], 1), ([0], 0), (None, 0)])
    def test_bulk_failures_confirm_only_the_prefix_before_the_first_failed_entry(
        self, sidecar, failed, sent
    ):
        fakes.address_changes(4, traceparent=TRACE)
        sidecar.fail_bulk(failed)
        with pytest.raises(PublishFailed):
            self.relay()
        assert sent_marks() == [True] * sent + [False] * (4 - sent) and len(sidecar.calls) == 1

    @DB
    def test_events_of_one_aggregate_keep_their_order(self, sidecar):
        first, second = CreateCustomerFactory.create_batch(2)
        with tracing.using(tracing.MessageContext("corr", None, TRACE)):
            for customer, street in [(first, "1 A"), (second, "1 B"), (first, "2 A")]:
                fakes.change_address(customer, **{**fakes.ADDRESS, "street": street})
        rows = list(CustomerOutbox.objects.order_by("id"))
        assert self.publisher().publish(rows) == 3
        # One bulk call holds an aggregate at most once: the sidecar publishes entries in
        # parallel. The second change of ``first`` waits for the next call.
        assert [len(call.entries) for call in sidecar.calls] == [2, 1]
        published = [json.loads(e.body)["id"] for c in sidecar.calls for e in c.entries]
        assert published == [str(row.event_id) for row in rows]

    @DB
    def test_an_event_from_the_outbox_reaches_orders_once(self, app, sidecar, monkeypatch):
        customer, order = fakes.customer_with_order()
        fakes.change_address(customer, **{**fakes.ADDRESS, "street": "1 Sidecar St"})
        self.relay()
        (body,) = [e.body for c in sidecar.calls for e in c.entries if TOPIC in e.body.decode()]
        delivered = json.dumps(fakes.as_delivered_by_dapr(body))
        outcomes, real = [], dapr_app.deliver
        monkeypatch.setattr(dapr_app, "deliver", lambda raw: outcomes.append(real(raw)))
        assert [post(app, delivered).json() for _ in range(2)] == [{"status": "SUCCESS"}] * 2
        consumer = "orders.update_shipping_address_of_open_orders"
        assert outcomes == [{consumer: "handled"}, {consumer: "duplicate"}]
        assert OrderRecord.objects.get(pk=order.id).ship_street == "1 Sidecar St"

    def test_the_configured_transport_is_built_without_contacting_the_sidecar(
        self, sidecar, settings
    ):
        settings.EDN_BUS_TRANSPORT, settings.EDN_DAPR_PUBLISH_API = "dapr", self.api
        get_transport.cache_clear()
        try:
            assert type(get_transport()) is self.publisher
        finally:
            get_transport.cache_clear()
        assert sidecar.contacts() == 0
