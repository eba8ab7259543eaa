"""A server-side condition (database down, schema missing, registry unreachable) is a 503
problem+json with Retry-After, never a 4xx the client would take for its own fault, nor a 500."""

import json

import pytest
from django.db import InterfaceError, OperationalError
from django.test import RequestFactory
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from edn_core.cqrs.errors import server_error
from edn_core.cqrs.problems import PROBLEM_CONTENT_TYPE

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
