"""HTTP API fuzzing: schemathesis generates requests from the served OpenAPI document.

Every operation of every service gets the examples, coverage and fuzzing phases, valid and
invalid data alike, in-process against the WSGI application with a real database. A
response passes when it is no server error, has a documented status, content type, headers
and body, when data valid by the document is accepted and invalid data refused with 4xx.
A stateful test then follows the document's links from created resources.

The run is fixed by a seed and sized per service: ``EDN_FUZZ_CASES`` cases at least (1,000
by default, under a minute per service on two cores). A bigger or different run::

    EDN_FUZZ_CASES=20000 EDN_FUZZ_SEED=7 pytest tests/test_openapi_fuzz.py -p no:cacheprovider

See docs/fuzzing.md for reproducing a failure.
"""

from __future__ import annotations

import json
import logging
import math
import os
import uuid
from collections import Counter, defaultdict

import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, SchemaError
from schemathesis.specs.openapi.checks import positive_data_acceptance

from config.wsgi import application
from tests.conftest import bearer_token
from tests.support.fuzz_world import build_world

CASES = int(os.environ.get("EDN_FUZZ_CASES", "1000"))
SEED = int(os.environ.get("EDN_FUZZ_SEED", "20251130"))
SERVICES = {
    "customers": "/api/customers",
    "orders": "/api/orders",
    "inventory": "/api/inventory",
    "sagas": "/api/sagas",
    "schema_registry": "/api/schemas",
}

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        # No crash replay from .schemathesis/: a run depends on the seed alone.
        "cache": {"enabled": False},
        # Nor values drawn from the application's code: they change with every module added,
        # and made the stateful flows' generation differ between a run and its replay
        "analysis": {"constants": {"enabled": False}},
        "auth": {"openapi": {"jwtAuth": {"bearer": bearer_token()}}},
        "checks": {
            # Our contract: a write without If-Match is 428 Precondition Required.
            "missing_required_header": {
                "expected-statuses": ["400", "401", "403", "406", "415", "422", "428"]
            },
            # A well-formed If-Match may still name another version: 412 is not a refusal
            # of the data. Server errors are never acceptable.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "412"]
            },
            "negative_data_rejection": {
                "expected-statuses": [
                    *("400", "401", "403", "404", "405", "406", "409", "412", "413"),
                    *("415", "422", "428"),
                ]
            },
        },
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG)

CASES_RUN: Counter[str] = Counter()
OPERATIONS_RUN: defaultdict[str, set[str]] = defaultdict(set)
KNOWN_IDS: dict[str, list[str]] = {}

# transaction=True: each request commits as in production; the database is emptied
# between operations, and `world` makes the resources again.
fuzz = pytest.mark.django_db(transaction=True, databases="__all__")
with_world = pytest.mark.usefixtures("world")
# The registry needs no world, and only its own database (emptied after each operation;
# Django sets up "default" with any other).
fuzz_registry = pytest.mark.django_db(transaction=True, databases=["default", "schema_registry"])


def service_of(path: str) -> str:
    return next(name for name, prefix in SERVICES.items() if path.startswith(prefix))


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Aim most item requests at resources that exist (random ids only find 404s)."""
    value = (path_parameters or {}).get("id")
    if value is None:
        return st.just(path_parameters)
    try:
        uuid.UUID(str(value))
    except ValueError:
        return st.just(path_parameters)  # a deliberately invalid id stays invalid
    known = KNOWN_IDS.get(service_of(context.operation.path), [])
    choices = [path_parameters, *({**path_parameters, "id": i} for i in known)]
    return st.sampled_from(choices)


@schema.hook
def filter_body(context, body):
    """One line per product is a domain rule JSON Schema cannot state (the document says it
    in words); generated orders that repeat a product are not sent."""
    if context.operation.path != "/api/orders" or not isinstance(body, dict):
        return True
    items = body.get("items")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return True
    products = [i.get("productId") for i in items]
    return len(set(map(str, products))) == len(products)


def operations_of(service: str) -> list[str]:
    part = schema.include(path_regex=f"^{SERVICES[service]}")
    return [result.ok().label for result in part.get_all_operations()]


def fuzz_settings(service: str):
    # Each operation's fuzzing phase gets its share of CASES; the examples and coverage
    # phases (and the stateful flows) come on top.
    per_operation = math.ceil(CASES / len(operations_of(service)))
    return settings(
        max_examples=per_operation,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
    )


@pytest.fixture(autouse=True)
def quiet_request_log(caplog):
    caplog.set_level(logging.ERROR, logger="django.request")  # thousands of 4xx by design


@pytest.fixture
def world(registered_event_schemas):
    """Resources to aim at: a customer, a product, a Created order and its saga, and a
    Pending order whose saga is still executing (the bus driven by hand, no relay thread)."""
    KNOWN_IDS.clear()
    KNOWN_IDS.update(build_world())
    yield
    KNOWN_IDS.clear()


def holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(key) or holds_nul(item) for key, item in value.items())
    return isinstance(value, list) and any(holds_nul(item) for item in value)


def not_a_json_schema(raw: object) -> bool:
    """Judge a request's ``schema`` member independently of the registry's own code."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            return True
    if not isinstance(raw, dict) or holds_nul(raw):  # PostgreSQL's jsonb cannot store U+0000
        return True
    try:
        Draft202012Validator.check_schema(raw)
    except (SchemaError, RecursionError):
        return True
    return False


def refused_as_invalid_schema(case, response) -> bool:
    """A valid-by-the-document body whose ``schema`` text is not a JSON Schema: OpenAPI cannot
    say "this string must hold a JSON Schema", and Confluent's answer is 422 42201. Excused
    from positive-data acceptance only when the schema really is not one."""
    if response.status_code != 422 or not isinstance(case.body, dict):
        return False
    try:
        code = response.json().get("error_code")
    except ValueError:
        return False
    return code == 42201 and not_a_json_schema(case.body.get("schema"))


def refused_across_parameters(response) -> bool:
    """A rule across query parameters the document states in words: the orders list's
    ``asOf`` needs a ``customerId`` (JSON Schema cannot say it of parameters)."""
    if response.status_code != 400:
        return False
    try:
        errors = response.json().get("errors", {})
    except ValueError:
        return False
    return errors == {"asOf": ["asOf needs a customerId."]}


def call(case) -> None:
    service = service_of(case.path)
    CASES_RUN[service] += 1
    OPERATIONS_RUN[service].add(f"{case.method.upper()} {case.path}")
    response = case.call()
    refused = refused_as_invalid_schema(case, response) or refused_across_parameters(response)
    excused = [positive_data_acceptance] if refused else []
    case.validate_response(response, excluded_checks=excused)


@schema.include(path_regex="^/api/customers").parametrize()
@fuzz_settings("customers")
@fuzz
@with_world
def test_customers_api(case):
    call(case)


@schema.include(path_regex="^/api/orders").parametrize()
@fuzz_settings("orders")
@fuzz
@with_world
def test_orders_api(case):
    call(case)


@schema.include(path_regex="^/api/inventory").parametrize()
@fuzz_settings("inventory")
@fuzz
@with_world
def test_inventory_api(case):
    call(case)


@schema.include(path_regex="^/api/sagas").parametrize()
@fuzz_settings("sagas")
@fuzz
@with_world
def test_sagas_api(case):
    call(case)


@schema.include(path_regex="^/api/schemas").parametrize()
@fuzz_settings("schema_registry")
@fuzz_registry
def test_schema_registry_api(case):
    call(case)


STATEFUL_SCENARIOS = max(10, CASES // 25)
SCENARIO_ALIASES = ("customers", "orders", "inventory", "sagas", "analytics")  # not the registry


@fuzz
@with_world
def test_stateful_flows_across_linked_operations():
    """Follow the document's links: create a resource, then read, change, ship or delete
    it with the id and ETag the creation answered (schemathesis's stateful phase)."""
    linked = schema.include(path_regex="^/api/(customers|inventory|orders|sagas)").exclude(
        path_regex="/events$"  # a read-only view, fuzzed on its own above
    )

    steps: Counter[tuple[str, int]] = Counter()

    class Flows(linked.as_state_machine()):
        def validate_response(self, response, case, additional_checks=None, **kwargs):
            excluded = [positive_data_acceptance] if refused_across_parameters(response) else []
            try:
                case.validate_response(
                    response,
                    additional_checks=additional_checks,
                    excluded_checks=excluded,
                    transport_kwargs=kwargs,
                )
            except Exception as failure:
                # shown even when replaying the case then trips hypothesis's flakiness check
                # (schemathesis draws some values from a true random source)
                print(f"stateful failure: {case.as_curl_command()} -> {response.status_code}")
                print(f"  {response.text[:500]}\n  {failure}")
                raise

        def after_call(self, response, case):
            super().after_call(response, case)
            CASES_RUN[service_of(case.path)] += 1
            steps[(f"{case.method} {case.path}", response.status_code)] += 1

        def teardown(self):
            """Every scenario starts from the same world: hypothesis expects the same draws to
            meet the same answers (a scenario that met the rows an earlier one left made its
            generation inconsistent: FlakyStrategyDefinition)."""
            for alias in SCENARIO_ALIASES:
                call_command("flush", database=alias, interactive=False, verbosity=0)
            KNOWN_IDS.clear()
            KNOWN_IDS.update(build_world())
            super().teardown()

    Flows.run(
        settings=settings(
            Flows.TestCase.settings,
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=6,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )
    print("stateful steps:", dict(steps))


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_service_got_its_cases(service):
    """Runs after the fuzz tests above (module order): each service had CASES cases."""
    expected = set(operations_of(service))
    if not expected <= OPERATIONS_RUN[service]:
        pytest.skip("counts only when every operation of the service was fuzzed in this run")
    print(f"{service}: {CASES_RUN[service]} cases over {len(expected)} operations")
    assert CASES_RUN[service] >= CASES
