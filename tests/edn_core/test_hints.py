"""Refusals that say what to send instead: an ETag without its quotes, snake_case names, a
path nothing serves (problem+json in DEBUG too), and each log line written once."""

import subprocess
import sys

import pytest

from customers.models import CustomerRecord
from tests.customers.factories import CreateCustomerFactory, customer_payload

PROBLEM = "application/problem+json"


@pytest.mark.django_db(databases="__all__")
@pytest.mark.parametrize(
    ("if_match", "said"),
    [("3", 'send If-Match: "3"'), ('W/"3"', 'send If-Match: "3"'), ("abc", 'e.g. If-Match: "3"')],
)
def test_an_unusable_if_match_shows_how_to_write_it(api, if_match, said):
    customer = CreateCustomerFactory.create()
    url = f"/api/customers/{customer.id}"
    response = api.put(url, customer_payload(), format="json", HTTP_IF_MATCH=if_match)
    assert response.status_code == 412 and response["Content-Type"] == PROBLEM
    assert response.json()["detail"].endswith(f"(quotes included, no W/): {said}.")


@pytest.mark.django_db(databases="__all__")
def test_snake_case_names_are_told_their_camel_case_name(api):
    body = customer_payload()
    body["first_name"] = body.pop("firstName")
    body["shippingAddress"]["postal_code"] = body["shippingAddress"].pop("postalCode")
    body["nickname"] = "Ada"
    errors = api.post("/api/customers", body, format="json").json()["errors"]
    assert errors["first_name"] == ["Unknown field; field names are camelCase: firstName."]
    assert errors["shippingAddress.postal_code"] == [
        "Unknown field; field names are camelCase: postalCode."
    ]
    assert errors["nickname"] == ["Unknown field."]  # no known field to point at
    assert CustomerRecord.objects.count() == 0


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize(
    ("method", "path", "detail"),
    [
        ("get", "/api/products", "Nothing is served at /api/products."),
        ("post", "/api/products", "Nothing is served at /api/products."),  # no CSRF page
        ("get", "/api/customers/", "Nothing is served at /api/customers/; did you mean "),
        ("delete", "/api/orders/x/ship", "Nothing is served at /api/orders/x/ship."),
    ],
)
def test_an_unknown_api_route_is_a_404_problem_in_debug_too(
    anonymous, settings, debug, method, path, detail
):
    settings.DEBUG = debug
    response = getattr(anonymous, method)(path)
    assert response.status_code == 404 and response["Content-Type"] == PROBLEM
    assert response.json()["detail"].startswith(detail)
    assert response.json()["type"] == "urn:edn:problem:not-found"


LOG_TWICE = """
import logging
from django.conf import settings
from django.utils.log import configure_logging
from edn_core.observability.logs import logging_config

settings.configure(DEBUG=True)
configure_logging("logging.config.dictConfig", logging_config("plain", "INFO", "x"))
logging.getLogger("django.request").warning("Not Found: /api/products")
logging.getLogger("django.server").info('"GET /api/products HTTP/1.1" 404 123')
logging.getLogger("django.utils.autoreload").info("Watching for file changes")
logging.getLogger("edn_core.bus").info("relayed 1 message")
"""


def test_every_log_line_is_written_once_in_development():
    """Django's own handlers (its DEBUG console, runserver's request lines) are gone: each
    record reaches the one root handler, in the configured format."""
    done = subprocess.run(
        [sys.executable, "-c", LOG_TWICE], capture_output=True, text=True, timeout=60
    )
    lines = done.stderr.splitlines()
    assert done.returncode == 0 and len(lines) == 4, done.stderr
    loggers = ["django.request", "django.server", "django.utils.autoreload", "edn_core.bus"]
    for line, logger in zip(lines, loggers, strict=True):
        assert f" {logger} " in line, lines
