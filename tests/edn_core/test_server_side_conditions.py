"""A server-side condition (database down, schema missing, registry unreachable) is a 503
problem+json with Retry-After, never a 4xx the client would take for its own fault, nor a 500."""

import http.server
import io
import json
import socket
import threading

import grimp
import pytest
from django.core.management import CommandError, call_command
from django.db import InterfaceError, OperationalError
from django.test import RequestFactory
from rest_framework.exceptions import APIException
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from customers.models import CustomerRecord
from customers.models import OutboxMessage as CustomerOutbox
from edn_core import schemas
from edn_core.cqrs.errors import server_error
from edn_core.cqrs.problems import PROBLEM_CONTENT_TYPE
from schema_registry.models import SchemaVersion, Subject
from schema_registry.source import LocalSchemaSource
from tests.customers.factories import CreateCustomerFactory, customer_payload

DRIVER_MESSAGE = (
    'connection failed: connection to server at "10.1.2.3", port 6543 failed: '
    'FATAL: database "edn_secret_customers" does not exist'
)
LEAKS = ("10.1.2.3", "6543", "edn_secret_customers")


def assert_database_unavailable(response) -> None:
    body = json.loads(response.content)
    assert response.status_code == 503
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert int(response["Retry-After"]) > 0
    assert body["type"] == "urn:edn:problem:database-unavailable"
    assert "database" in body["detail"]
    assert not any(leak in body["detail"] for leak in LEAKS), body["detail"]


class Failing(APIView):
    authentication_classes = permission_classes = ()
    error: Exception = RuntimeError()

    def get(self, request):
        raise self.error


@pytest.mark.parametrize(
    "error",
    [OperationalError(DRIVER_MESSAGE), InterfaceError("connection already closed")],
    ids=["operational", "interface"],
)
def test_a_database_outage_in_an_api_view_is_503_without_the_driver_message(error):
    view = Failing.as_view(error=error)
    response = view(APIRequestFactory().get("/api/anything"))
    response.render()
    assert_database_unavailable(response)


def test_a_database_outage_outside_drf_is_503_from_the_server_error_handler():
    """A middleware (sessions) or a plain Django view meets the outage: Django's handler500
    runs inside the ``except`` and answers 503 too."""
    request = RequestFactory().get("/admin/")
    try:
        raise OperationalError(DRIVER_MESSAGE)
    except OperationalError:
        response = server_error(request)
    assert_database_unavailable(response)


def test_any_other_unhandled_error_stays_a_500():
    try:
        raise KeyError("bug")
    except KeyError:
        response = server_error(RequestFactory().get("/x"))
    assert response.status_code == 500 and "Retry-After" not in response


# --- the schema registry: a missing schema or an unreachable registry stops a command --------


def test_the_schema_layer_raises_plain_exceptions_that_only_the_http_edge_makes_503s():
    graph = grimp.build_graph("edn_core", include_external_packages=True, cache_dir=None)
    assert not graph.chain_exists(importer="edn_core.schemas", imported="rest_framework")
    assert not issubclass(schemas.RegistryUnavailable, APIException)
    assert not issubclass(schemas.UnknownSchema, APIException)

    view = Failing.as_view(error=schemas.RegistryUnavailable("The registry is away."))
    response = view(APIRequestFactory().get("/api/anything"))
    response.render()
    assert_problem_503(response, "schema-registry-unavailable", "The registry is away.", 10)
    try:
        raise schemas.UnknownSchema("No schema for v1.X.")
    except schemas.UnknownSchema:
        response = server_error(RequestFactory().post("/admin/"))  # an admin action, say
    assert_problem_503(response, "schema-not-registered", "No schema for v1.X.", 60)


def assert_problem_503(response, slug: str, detail: str, retry_after: int) -> None:
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response["Retry-After"] == str(retry_after)
    body = json.loads(response.content)
    assert body["type"] == f"urn:edn:problem:{slug}" and body["detail"] == detail


TOPIC = "v1.CustomerAddressUpdated"


def change_address(api, customer, city="Lyon"):
    body = customer_payload(shippingAddress={**customer_payload()["shippingAddress"], "city": city})
    return api.put(
        f"/api/customers/{customer.id}",
        body,
        format="json",
        HTTP_IF_MATCH=f'"{customer.version}"',
    )


def assert_nothing_written(customer) -> None:
    row = CustomerRecord.objects.get(pk=customer.id)
    assert row.version == customer.version and row.city == customer.shipping_address.city
    assert CustomerOutbox.objects.filter(aggregate_id=str(customer.id), sequence__gt=1).count() == 0


def assert_503(response, slug: str, *words: str) -> dict:
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert int(response["Retry-After"]) > 0
    body = response.json()
    assert body["type"] == f"urn:edn:problem:{slug}"
    assert all(word in body["detail"] for word in words), body["detail"]
    return body


def forget_schema() -> None:
    """As if nobody had registered the topic's schema (a newcomer's registry)."""
    SchemaVersion.objects.filter(subject__name=TOPIC).delete()
    Subject.objects.filter(name=TOPIC).delete()


@pytest.fixture
def remote_registry(settings):
    """This process stops hosting the registry; ``use(url)`` names the remote one."""

    def use(url: str) -> None:
        # A live_server on a loaded machine may take seconds per call; the 3 s default is
        # for production (a registry that does not answer at all is tested on a closed port).
        settings.EDN_SCHEMA_REGISTRY_TIMEOUT_SECONDS = 120
        settings.EDN_SCHEMA_REGISTRY_URL = url
        schemas.install_local_source(None)

    yield use
    schemas.install_local_source(LocalSchemaSource())


@pytest.mark.django_db(databases="__all__")
def test_a_schema_missing_from_the_hosted_registry_is_503_naming_the_topic_and_the_fix(api):
    customer = CreateCustomerFactory.create()
    forget_schema()
    schemas.install_local_source(LocalSchemaSource())  # forget the cached latest version
    response = change_address(api, customer)
    assert_503(response, "schema-not-registered", TOPIC, "edn_schemas register")
    assert_nothing_written(customer)


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_remote_registry_without_the_schema_is_503_until_the_operator_registers_it(
    api, live_server, remote_registry
):
    customer = CreateCustomerFactory.create()
    forget_schema()
    remote_registry(live_server.url)
    response = change_address(api, customer)
    body = assert_503(response, "schema-not-registered", TOPIC, "edn_schemas register")
    assert "Invalid" not in body["title"] and response["Retry-After"] == "60"
    assert_nothing_written(customer)

    out = io.StringIO()
    call_command("edn_schemas", "register", stdout=out)  # what the operator runs
    assert f"{TOPIC}: version 1" in out.getvalue()
    assert change_address(api, customer).status_code == 200
    assert CustomerOutbox.objects.filter(topic=TOPIC).count() == 1


class Stub(http.server.BaseHTTPRequestHandler):
    """Something at the registry's URL that does not answer as a registry."""

    status, body = 500, b""

    def do_GET(self):
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def stub_registry():
    servers = []

    def start(status: int, body: bytes) -> str:
        handler = type("Answer", (Stub,), {"status": status, "body": body})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db(databases="__all__")
@pytest.mark.parametrize(
    "status, body",
    [
        (500, b'{"error_code": 50001, "message": "store"}'),
        (503, b""),
        (401, b'{"detail": "bad token"}'),
        (404, b'{"detail": "Nothing is served at /api/schemas/subjects/x"}'),  # wrong URL
        (200, b"<html>not a schema</html>"),
        (200, b'{"subject": "v1.CustomerAddressUpdated"}'),
        (None, b""),  # nothing listens
    ],
    ids=["500", "503", "401", "404-not-a-registry", "200-html", "200-no-schema", "closed"],
)
def test_a_registry_that_does_not_answer_as_one_is_503_and_names_no_address(
    api, remote_registry, stub_registry, status, body
):
    customer = CreateCustomerFactory.create()
    url = stub_registry(status, body) if status else f"http://127.0.0.1:{_closed_port()}"
    remote_registry(url)
    response = change_address(api, customer)
    detail = assert_503(response, "schema-registry-unavailable", TOPIC, "registry")["detail"]
    assert url.rsplit(":", 1)[1] not in detail  # the registry's address stays in the log
    assert_nothing_written(customer)


@pytest.mark.django_db(databases="__all__")
@pytest.mark.parametrize("action", ["register", "check"])
def test_edn_schemas_with_an_unreachable_registry_is_a_command_error(remote_registry, action):
    remote_registry(f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(CommandError, match="The schema registry did not answer"):
        call_command("edn_schemas", action, stdout=io.StringIO())


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_edn_schemas_check_over_http_takes_a_subject_the_registry_lacks(
    live_server, remote_registry
):
    forget_schema()
    remote_registry(live_server.url)
    out = io.StringIO()
    call_command("edn_schemas", "check", stdout=out)
    assert f"{TOPIC}: compatible" in out.getvalue()
