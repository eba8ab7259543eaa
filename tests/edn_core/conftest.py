import pytest

# The contract suites are plain modules that test modules subclass: have pytest rewrite their
# asserts too, so a failure shows the values compared.
pytest.register_assert_rewrite("tests.edn_core.transport_contract", "tests.edn_core.dapr_contract")


@pytest.fixture
def http_sidecar(settings):
    """A fake of the Dapr sidecar's HTTP API on a real socket (``dapr_fakes.HttpSidecar``),
    with the settings pointing at it and ``DAPR_API_TOKEN`` set."""
    from tests.edn_core.dapr_fakes import FakeSidecar, HttpSidecar

    with FakeSidecar() as fake:
        settings.DAPR_HTTP_PORT, settings.DAPR_API_TOKEN = fake.port, "dapr-secret"
        yield HttpSidecar(fake)


@pytest.fixture
def grpc_sidecar(settings):
    """A fake of the Dapr sidecar's gRPC API and health endpoint on real sockets
    (``dapr_grpc_fakes.FakeGrpcSidecar``), with the settings pointing at it, ``DAPR_API_TOKEN``
    set and no health wait beyond one probe."""
    from tests.edn_core.dapr_grpc_fakes import FakeGrpcSidecar

    with FakeGrpcSidecar() as fake:
        settings.DAPR_GRPC_PORT, settings.DAPR_HTTP_PORT = fake.port, fake.health.port
        settings.DAPR_API_TOKEN, settings.EDN_DAPR_HEALTH_TIMEOUT_SECONDS = "dapr-secret", 0
        yield fake
