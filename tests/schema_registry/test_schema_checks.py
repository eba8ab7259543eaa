"""The two validators behind every schema check agree, and the reported errors are
``jsonschema``'s (no database)."""

import uuid
from decimal import Decimal

import pytest

from edn_core.schema_checks import Checkers

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["customerId", "amount"],
    "additionalProperties": False,
    "properties": {
        "customerId": {"type": "string", "format": "uuid"},
        "amount": {"type": "number", "minimum": 0},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}},
    },
}
VALID = {"customerId": str(uuid.uuid4()), "amount": 3.5, "tags": ["a", "bc"]}


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (VALID, {}),
        ({**VALID, "customerId": "nope"}, {"customerId": ["'nope' is not a 'uuid'"]}),
        ({**VALID, "amount": -1}, {"amount": ["-1 is less than the minimum of 0"]}),
        ({**VALID, "tags": ["long"]}, {"tags[0]": ["'long' is too long"]}),
        ({"amount": 1}, {"(root)": ["'customerId' is a required property"]}),
        (
            {**VALID, "extra": 1},
            {"(root)": ["Additional properties are not allowed ('extra' was unexpected)"]},
        ),
    ],
)
def test_errors_name_the_path_and_the_rule(data, errors):
    assert Checkers().errors(1, SCHEMA, data) == errors


def test_values_that_are_not_json_are_judged_by_jsonschema():
    checks = Checkers()
    assert checks.errors(1, SCHEMA, {**VALID, "amount": Decimal("2.5")}) == {}
    assert "customerId" in checks.errors(1, SCHEMA, {**VALID, "customerId": uuid.uuid4()})


def test_a_schema_the_fast_validator_cannot_compile_is_checked_by_jsonschema_alone():
    checks = Checkers()
    checks.fast[2] = None  # as when jsonschema-rs refused to compile it
    document = {"type": "object", "required": ["a"]}
    assert checks.errors(2, document, {"a": 1}) == {}
    assert checks.errors(2, document, {}) == {"(root)": ["'a' is a required property"]}


def test_remote_references_are_never_fetched(monkeypatch):
    from edn_core import schema_checks

    asked = []

    def refuse(uri):
        asked.append(uri)
        raise ValueError("not fetched")

    monkeypatch.setattr(schema_checks, "_no_fetching", refuse)
    remote = {"properties": {"a": {"$ref": "https://schemas.example.com/a.json"}}}
    checks = Checkers()
    assert checks._fast(3, remote) is None  # refused to compile rather than fetch
    assert asked == ["https://schemas.example.com/a.json"]  # jsonschema-rs asked us, not the web
    assert checks.errors(3, remote, {"b": 1}) == {}  # jsonschema alone, which fetches nothing


def test_validators_are_compiled_once_per_schema_id():
    checks = Checkers()
    checks.errors(1, SCHEMA, VALID)
    fast, full = checks.fast[1], checks._full(1, SCHEMA)
    checks.errors(1, SCHEMA, {**VALID, "amount": -1})
    assert checks.fast[1] is fast and checks.full[1] is full
