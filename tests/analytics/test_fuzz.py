"""The statistics endpoints under schemathesis, like every service in tests/test_openapi_fuzz.py:
the document's examples, coverage and random cases, valid and invalid; every answer must be
documented (status, media type, body) and valid data accepted -- except the range rules that
relate two parameters (``to`` after ``from``, not too far), which JSON Schema cannot state
and the document states in words."""

import logging
import math

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from analytics.domain import MAX_RANGE, MAX_WINDOWS
from config.wsgi import application
from tests.analytics.factories import OrderMinuteFactory, ProductMinuteFactory
from tests.conftest import bearer_token

CASES = 300  # over both operations; the examples and coverage phases come on top
RANGE_RULES = {
    "to must be after from.",
    f"The range spans more than {MAX_RANGE.days} days.",
    f"The range holds more than {MAX_WINDOWS} windows.",
}

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 15,
        "cache": {"enabled": False},
        "auth": {"openapi": {"jwtAuth": {"bearer": bearer_token()}}},
        "checks": {
            "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404"]},
            "negative_data_rejection": {
                "expected-statuses": ["400", "401", "403", "404", "405", "406", "422"]
            },
        },
    }
)
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json", application, config=CONFIG
).include(path_regex="^/api/stats/")


@pytest.fixture(autouse=True)
def quiet_request_log(caplog):
    caplog.set_level(logging.ERROR, logger="django.request")  # hundreds of 400s by design


@pytest.fixture
def rows():
    OrderMinuteFactory.create_batch(3)
    ProductMinuteFactory.create_batch(3)


def refused_across_parameters(response) -> bool:
    if response.status_code != 400:
        return False
    errors = response.json().get("errors", {})
    return set(errors) == {"to"} and set(errors["to"]) <= RANGE_RULES


@schema.parametrize()
@settings(
    max_examples=math.ceil(CASES / 2),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.django_db(transaction=True, databases="__all__")  # WSGI calls close connections
@pytest.mark.usefixtures("rows")
def test_the_statistics_api(case):
    response = case.call()
    excused = [positive_data_acceptance] if refused_across_parameters(response) else []
    case.validate_response(response, excluded_checks=excused)
