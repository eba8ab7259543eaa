"""The remote registry client (``edn_core.schema_client.HttpSchemaSource``) against each
answer a registry can give, served by a stand-in on a local port: each maps to the outcome
docs/schema-registry.md documents."""

import socket

import pytest

from edn_core import schemas
from edn_core.schema_client import HttpSchemaSource
from edn_core.schemas import RegistryUnavailable, SchemaRefused, UnknownSchema
from schema_registry.source import LocalSchemaSource
from tests.schema_registry.stub_registry import StubRegistry

SUBJECT = "v1.CustomerAddressUpdated"
DOCUMENT = {"type": "object", "properties": {"a": {"type": "string"}}}
FOUND = {"subject": SUBJECT, "version": 3, "id": 7, "schemaType": "JSON", "schema": "{}"}
NOT_A_REGISTRY_404 = (404, {"detail": "Nothing is served here"})


@pytest.fixture(scope="module")
def server():
    server = StubRegistry(lambda method, path, body: (500, b""))
    yield server
    server.close()


@pytest.fixture
def stub(server):
    """``stub(answer)``: a client of a registry answering ``answer`` (or a function's answer)."""

    def start(answer) -> HttpSchemaSource:
        server.answer = answer if callable(answer) else (lambda method, path, body: answer)
        return HttpSchemaSource(server.url)

    return start


@pytest.mark.parametrize("code", [40401, 40402])
def test_a_read_the_registry_answers_not_registered_is_none(stub, code):
    """404 with a registry's own code is "no such schema", not an outage."""
    client = stub((404, {"error_code": code, "message": "Subject not found"}))
    assert client.get(SUBJECT, None) is None
    assert client.get(SUBJECT, 2) is None


def test_not_registered_reaches_the_caller_as_unknown_schema_naming_the_fix(stub, settings):
    """What the bus sees: UnknownSchema (a 503 schema-not-registered), naming the command."""
    client = stub((404, {"error_code": 40401, "message": "Subject not found"}))
    settings.EDN_SCHEMA_REGISTRY_URL = client.base_url
    schemas.install_local_source(None)
    try:
        with pytest.raises(UnknownSchema, match="edn_schemas register"):
            schemas.validate_for_consume(SUBJECT, {}, None)
    finally:
        schemas.install_local_source(LocalSchemaSource())


@pytest.mark.parametrize(
    "answer",
    [
        NOT_A_REGISTRY_404,
        (404, {"error_code": 40403}),  # a schema id, never the answer to a version read
        (500, {"error_code": 50001, "message": "store"}),
        (503, b""),
        (401, {"detail": "bad token"}),
        (200, b"<html>"),
        (200, {"subject": SUBJECT}),
    ],
    ids=["404-plain", "404-40403", "500", "503", "401", "200-html", "200-no-schema"],
)
def test_a_read_answered_otherwise_is_registry_unavailable(stub, answer):
    """Anything but a schema or a registry's "not registered" is an outage (503, retried)."""
    with pytest.raises(RegistryUnavailable, match=f"answered HTTP {answer[0]}"):
        stub(answer).get(SUBJECT, None)


def test_a_read_of_a_schema_returns_it(stub):
    found = stub((200, FOUND)).get(SUBJECT, 3)
    assert (found.subject, found.version, found.id, found.document) == (SUBJECT, 3, 7, {})


@pytest.mark.parametrize(
    "status, problem, message, reasons",
    [
        (
            409,
            {"error_code": 40901, "detail": "incompatible", "messages": ["/required"]},
            "incompatible",
            ["/required"],
        ),
        (
            409,
            {"error_code": 40901, "message": "Schema being registered is incompatible"},
            "Schema being registered is incompatible",
            [],
        ),
        (422, {"error_code": 42201, "detail": "not a JSON Schema"}, "not a JSON Schema", []),
    ],
    ids=["409-messages", "409-confluent", "422"],
)
def test_a_refused_registration_is_schema_refused_with_the_reasons(
    stub, status, problem, message, reasons
):
    """409 (incompatible) and 422 (invalid) are the registry's verdict, not an outage."""
    with pytest.raises(SchemaRefused) as refused:
        stub((status, problem)).register(SUBJECT, DOCUMENT)
    assert (refused.value.message, refused.value.reasons) == (message, reasons)


@pytest.mark.parametrize("answer", [(500, {}), (503, b""), NOT_A_REGISTRY_404, (401, {})], ids=str)
def test_a_registration_answered_otherwise_is_registry_unavailable(stub, answer):
    with pytest.raises(RegistryUnavailable, match=f"HTTP {answer[0]} to registering {SUBJECT}"):
        stub(answer).register(SUBJECT, DOCUMENT)


def test_a_registration_returns_the_version_that_holds_the_document(stub):
    """200 ``{"id"}`` is followed by a lookup of the document; its answer is returned."""

    def answer(method, path, body):
        assert body == {
            "schema": '{"type": "object", "properties": {"a": {"type": "string"}}}',
            "schemaType": "JSON",
        }
        return (200, {"id": 7}) if path.endswith("/versions") else (200, FOUND)

    client = stub(answer)
    assert client.register(SUBJECT, DOCUMENT).version == 3


@pytest.mark.parametrize(
    "answer, reasons",
    [
        ((200, {"is_compatible": True, "messages": []}), []),
        ((200, {"is_compatible": False, "messages": ["/required"]}), ["/required"]),
        ((404, {"error_code": 40401}), []),  # a new subject takes any schema
        ((422, {"error_code": 42201, "detail": "not a JSON Schema"}), ["not a JSON Schema"]),
    ],
    ids=["compatible", "incompatible", "404-new-subject", "422"],
)
def test_a_compatibility_check_returns_the_reasons(stub, answer, reasons):
    assert stub(answer).compatibility(SUBJECT, DOCUMENT) == reasons


@pytest.mark.parametrize(
    "answer",
    [(503, b""), NOT_A_REGISTRY_404, (200, {"is_compatible": True}), (200, b"[]")],
    ids=["503", "404-plain", "200-no-messages", "200-list"],
)
def test_a_compatibility_check_answered_otherwise_is_registry_unavailable(stub, answer):
    with pytest.raises(RegistryUnavailable, match=f"HTTP {answer[0]} to checking {SUBJECT}"):
        stub(answer).compatibility(SUBJECT, DOCUMENT)


def test_no_answer_at_all_is_registry_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once the socket closes
    with pytest.raises(RegistryUnavailable, match="did not answer"):
        HttpSchemaSource(f"http://127.0.0.1:{port}", timeout=5).register(SUBJECT, DOCUMENT)


@pytest.mark.parametrize("status", [200, 201])
def test_a_reader_registered_returns_its_schema_id(stub, status):
    """PUT …/consumers/{consumer}: 201 (new) and 200 (replaced) both give the reader's id."""
    seen = []

    def answer(method, path, body):
        seen.append((method, path))
        return status, {"subject": SUBJECT, "consumer": "shipping", "id": 11}

    assert stub(answer).register_reader(SUBJECT, "shipping", DOCUMENT) == 11
    assert seen == [("PUT", f"/api/schemas/subjects/{SUBJECT}/consumers/shipping")]


@pytest.mark.parametrize("status", [409, 422])
def test_a_reader_refused_is_schema_refused_with_the_reasons(stub, status):
    client = stub((status, {"detail": "breaks shipping", "messages": ["reader shipping: x"]}))
    with pytest.raises(SchemaRefused) as refused:
        client.register_reader(SUBJECT, "shipping", DOCUMENT)
    assert refused.value.reasons == ["reader shipping: x"]


@pytest.mark.parametrize("answer", [(500, {}), (200, {"id": "seven"}), NOT_A_REGISTRY_404])
def test_any_other_answer_to_a_reader_is_the_registry_unavailable(stub, answer):
    with pytest.raises(RegistryUnavailable, match="reader shipping"):
        stub(answer).register_reader(SUBJECT, "shipping", DOCUMENT)
