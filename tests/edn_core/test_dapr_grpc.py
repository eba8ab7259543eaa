"""What only the gRPC publisher (the Dapr SDK's gRPC client) has, against a fake sidecar built
from the SDK's own generated Dapr service (``grpc_sidecar``, tests/edn_core/conftest.py): the
health wait before the first call, deadlines, the SDK's fallback to ``BulkPublishEventAlpha1``.
The transport and publisher contracts run in tests/edn_core/test_transport_contract_dapr.py."""

import pytest
from dapr.clients.health import DaprHealth
from dapr.conf import settings as sdk_settings

from customers.models import OutboxMessage as CustomerOutbox
from edn_core.bus.relay import PublishFailed, relay_batch
from edn_core.bus.stores import store_for
from edn_core.bus.transports import get_transport
from edn_core.bus.transports.dapr import DaprPublishError
from edn_core.bus.transports.dapr_grpc import DaprGrpcTransport
from tests.edn_core import dapr_fakes as fakes

DB = pytest.mark.django_db(databases="__all__")


@DB
def test_the_health_wait_is_ours_not_the_sdks_60_seconds(grpc_sidecar, settings, monkeypatch):
    monkeypatch.setenv("DAPR_HEALTH_TIMEOUT", "600")
    settings.EDN_DAPR_HEALTH_TIMEOUT_SECONDS = 2.5
    seen, real = [], DaprHealth.wait_for_sidecar
    monkeypatch.setattr(
        DaprHealth,
        "wait_for_sidecar",
        staticmethod(lambda: seen.append(sdk_settings.DAPR_HEALTH_TIMEOUT) or real()),
    )
    assert DaprGrpcTransport().publish(fakes.address_changes(1)) == 1
    assert seen == [2.5]
    assert sdk_settings.DAPR_HEALTH_TIMEOUT == 600  # the SDK's own settings are put back
    assert grpc_sidecar.health.probes[0]["dapr-api-token"] == "dapr-secret"


@DB
def test_a_sidecar_not_ready_yet_is_retried_by_the_relay_and_the_client_made_once(grpc_sidecar):
    fakes.address_changes(1)
    transport = DaprGrpcTransport()  # one per relay, as get_transport() gives
    grpc_sidecar.health.status = 500  # daprd answers 500 until its components are ready
    with pytest.raises(PublishFailed, match="dapr sidecar not ready"):
        relay_batch(store_for("customers"), transport)
    row = CustomerOutbox.objects.get()
    assert row.sent_at is None and "/v1.0/healthz/outbound" in row.last_error
    assert grpc_sidecar.calls == [] and transport.client is None

    grpc_sidecar.health.status = 204
    assert relay_batch(store_for("customers"), transport) == 1
    fakes.address_changes(1)
    assert relay_batch(store_for("customers"), transport) == 1
    # one probe for two publishes: no probe per publish
    assert len(grpc_sidecar.health.probes) == 2 and len(grpc_sidecar.calls) == 2
    transport.close()
    assert transport.client is None


@DB
def test_a_sidecar_that_takes_the_call_and_never_answers_fails_it_at_the_deadline(
    grpc_sidecar, settings
):
    settings.EDN_DAPR_TIMEOUT_SECONDS = 0.5
    fakes.address_changes(1)
    with grpc_sidecar.holding(), pytest.raises(PublishFailed, match="DEADLINE_EXCEEDED"):
        relay_batch(store_for("customers"), DaprGrpcTransport())
    assert "DEADLINE_EXCEEDED" in CustomerOutbox.objects.get().last_error


@DB
def test_a_healthy_sidecar_whose_grpc_port_is_closed_gives_unavailable(grpc_sidecar, settings):
    settings.DAPR_GRPC_PORT = fakes.free_port()
    with pytest.raises(DaprPublishError, match="UNAVAILABLE"):
        DaprGrpcTransport().publish(fakes.address_changes(1))


@DB
def test_a_sidecar_without_the_stable_bulk_method_gets_the_alpha_one(grpc_sidecar):
    grpc_sidecar.bulk_unimplemented = True
    rows = fakes.address_changes(2, traceparent=fakes.TRACE)
    assert DaprGrpcTransport().publish(rows) == 2
    assert [c.method for c in grpc_sidecar.calls] == ["BulkPublishEventAlpha1"]
    assert grpc_sidecar.published() == [row.envelope.encode() for row in rows]


def test_an_unknown_publish_api_is_refused_by_name(settings):
    settings.EDN_BUS_TRANSPORT, settings.EDN_DAPR_PUBLISH_API = "dapr", "soap"
    get_transport.cache_clear()
    try:
        with pytest.raises(ValueError, match="EDN_DAPR_PUBLISH_API='soap'"):
            get_transport()
    finally:
        get_transport.cache_clear()
