"""The contract every Dapr publisher keeps, whatever API of the sidecar it uses: the transport
contract (tests/edn_core/transport_contract.py) and what only Dapr has -- the request the
sidecar gets, the bulk rules of decision 0018, no contact before the first publish.

Subclass :class:`DaprPublisherContract` once per publisher
(tests/edn_core/test_transport_contract_dapr.py: HTTP and gRPC) and give it ``api`` (the
``EDN_DAPR_PUBLISH_API`` value), ``publisher`` (the class it selects) and a ``backend`` fixture
whose ``sidecar`` is a fake on a real socket with ``settings`` pointing at it, exposing
``calls`` (``dapr_grpc_fakes.Call`` records: method, topic, entries with the event bytes,
content type and metadata, headers), ``fail_call(n)``, ``fail_bulk(indexes or None)`` and
``contacts()`` (how many requests of any kind reached it).
"""

from __future__ import annotations

import json

import pytest

from customers.models import OutboxMessage as CustomerOutbox
from edn_core.bus.relay import PublishFailed, relay_batch
from edn_core.bus.stores import store_for
from edn_core.bus.transports import get_transport
from tests.edn_core import dapr_fakes as fakes
from tests.edn_core.dapr_fakes import CLOUDEVENTS_JSON, TOPIC, TRACE
from tests.edn_core.transport_contract import TransportContract


def sent_marks() -> list[bool]:
    return [row.sent_at is not None for row in CustomerOutbox.objects.order_by("id")]


class DaprPublisherContract(TransportContract):
    api: str
    publisher: type
    bulk_bytes_kept = False  # whether bulk entries carry the stored bytes (else: equal JSON)
    # The sidecar rewrites traceparent from the span of the publish request, a child of ours
    # (dapr.md): the subscriber sees the same trace id.
    traceparent_kept = False
    run_of_six = [6]  # one topic, one trace, six aggregates: one bulk call

    @pytest.mark.parametrize("token", ["dapr-secret", ""])
    def test_each_row_is_published_unchanged_as_a_cloudevent(self, backend, settings, token):
        settings.DAPR_API_TOKEN = token
        rows = fakes.address_changes(2)  # two commands, two traces: no bulk
        assert self.publisher().publish(rows) == 2
        calls = backend.sidecar.calls
        assert [call.bulk for call in calls] == [False, False]
        for row, call in zip(rows, calls, strict=True):
            (entry,) = call.entries
            assert (call.pubsub, call.topic) == ("pubsub", TOPIC)
            assert entry.body == row.envelope.encode() and entry.content_type == CLOUDEVENTS_JSON
            assert entry.metadata == {"partitionKey": row.aggregate_id}
            assert call.headers.get("dapr-api-token") == (token or None)
            assert call.headers["traceparent"] == json.loads(row.envelope)["traceparent"]

    def test_publishing_stops_at_the_first_refused_request(self, backend):
        rows = fakes.address_changes(4)
        backend.sidecar.fail_call(3)
        assert self.publisher().publish(rows) == 2  # the prefix, without raising
        assert len(backend.sidecar.calls) == 3  # nothing after the refused one

    def test_a_run_of_one_topic_and_one_trace_is_published_in_bulk(self, backend):
        rows = fakes.address_changes(3, traceparent=TRACE)
        assert self.publisher().publish(rows) == 3
        (call,) = backend.sidecar.calls
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

    @pytest.mark.parametrize(("failed", "sent"), [([3, 1], 1), ([0], 0), (None, 0)])
    def test_bulk_failures_confirm_only_the_prefix_before_the_first_failed_entry(
        self, backend, failed, sent
    ):
        fakes.address_changes(4, traceparent=TRACE)
        backend.sidecar.fail_bulk(failed)
        with pytest.raises(PublishFailed):
            relay_batch(store_for("customers"), self.publisher())
        assert sent_marks() == [True] * sent + [False] * (4 - sent)
        assert len(backend.sidecar.calls) == 1

    def test_the_configured_transport_is_built_without_contacting_the_sidecar(
        self, backend, settings
    ):
        settings.EDN_BUS_TRANSPORT, settings.EDN_DAPR_PUBLISH_API = "dapr", self.api
        get_transport.cache_clear()
        try:
            assert type(get_transport()) is self.publisher
        finally:
            get_transport.cache_clear()
        assert backend.sidecar.contacts() == 0
