"""JSON Schema compatibility rules and Confluent modes (pure Python, no database)."""

import copy
import json
import random
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from edn_core.compatibility import Incompatibility, Mode, check, reader_can_read

ROOT = Path(__file__).resolve().parents[2]
CUSTOMER_V1 = json.loads((ROOT / "customers/schemas/v1.CustomerAddressUpdated.json").read_text())
ORDER_PLACED_V1 = json.loads((ROOT / "orders/schemas/v1.OrderPlaced.json").read_text())


def obj(properties=None, required=(), **keywords):
    """An object schema; pass additionalProperties=... to close or open it explicitly."""
    return {
        "type": "object",
        "properties": properties or {},
        "required": list(required),
        **keywords,
    }


def found(reader, writer):
    """(path, rule) pairs of reader_can_read(reader, writer)."""
    return {(i.path, i.rule) for i in reader_can_read(reader, writer)}


def rules_of(incompatibilities):
    return {(i.direction, i.rule) for i in incompatibilities}


def customer(**changes):
    """A deep copy of the real v1.CustomerAddressUpdated schema, top-level keys replaced."""
    schema = copy.deepcopy(CUSTOMER_V1)
    schema.update(changes)
    return schema


STRING = {"type": "string"}
CLOSED_AB = obj({"a": STRING, "b": STRING}, ["a"], additionalProperties=False)
CLOSED_A = obj({"a": STRING}, ["a"], additionalProperties=False)


# -- identity, annotations, no history --------------------------------------------------------


@pytest.mark.parametrize("mode", list(Mode))
def test_identical_schemas_are_compatible_in_every_mode(mode):
    odd = {"oneOf": [STRING, {"$ref": "#/$defs/n"}], "$defs": {"n": {"type": "number"}}}
    for schema in (CUSTOMER_V1, ORDER_PLACED_V1, odd, True, False):
        assert check(copy.deepcopy(schema), [schema, schema], mode) == []


def test_annotations_do_not_matter():
    described = customer(title="renamed", description="new words", examples=[{}], **{"x-team": "c"})
    described["properties"]["customerId"]["$comment"] = "the aggregate id"
    assert check(described, [CUSTOMER_V1], Mode.FULL_TRANSITIVE) == []


@pytest.mark.parametrize("mode", list(Mode))
def test_no_previous_versions_is_always_compatible(mode):
    assert check(CUSTOMER_V1, [], mode) == []


def test_mode_values_are_upper_case_names_and_strings_are_accepted():
    assert [m.value for m in Mode] == [m.name for m in Mode]
    assert check(CLOSED_A, [CLOSED_AB], "BACKWARD") == check(CLOSED_A, [CLOSED_AB], Mode.BACKWARD)


# -- modes -----------------------------------------------------------------------------------


def test_none_never_complains():
    assert check(True, [CUSTOMER_V1], Mode.NONE) == []
    assert check(obj({"a": {"type": "integer"}}, ["a"]), [CLOSED_AB], Mode.NONE) == []


def test_backward_is_new_reading_latest():
    with_email = customer(required=[*CUSTOMER_V1["required"], "email"])
    with_email["properties"] = {**CUSTOMER_V1["properties"], "email": STRING}
    found_ = check(with_email, [CUSTOMER_V1], Mode.BACKWARD)
    assert [(i.path, i.rule, i.direction) for i in found_] == [
        ("/required", "required-added", "backward")
    ]
    assert rules_of(check(with_email, [CUSTOMER_V1], Mode.FORWARD)) == {
        ("forward", "property-not-allowed")  # the closed old schema rejects the new email
    }


def test_forward_is_latest_reading_new():
    dropped = customer(required=["customerId"])  # shippingAddress becomes optional
    assert check(dropped, [CUSTOMER_V1], Mode.BACKWARD) == []
    assert rules_of(check(dropped, [CUSTOMER_V1], Mode.FORWARD)) == {("forward", "required-added")}


def test_full_checks_both_directions():
    renamed = obj({"a": STRING, "c": STRING}, ["a"], additionalProperties=False)
    found_ = check(renamed, [CLOSED_AB], Mode.FULL)
    assert {(i.direction, i.path, i.rule) for i in found_} == {
        ("backward", "/properties/b", "property-not-allowed"),  # old events carry b
        ("forward", "/properties/c", "property-not-allowed"),  # old readers reject c
    }
    assert check(customer(description="wider"), [CUSTOMER_V1], Mode.FULL) == []


def test_non_transitive_modes_only_look_at_the_latest_version():
    v1, v2 = obj({"a": {"type": "integer"}}, ["a"]), obj({"a": STRING}, ["a"])
    for mode in (Mode.BACKWARD, Mode.FORWARD, Mode.FULL):
        assert check(v2, [v1, v2], mode) == []
        assert check(v2, [v2, v1], mode) != []


# The transitive chain: v1 has an optional string `a` in an implicitly open model; v2 drops it;
# v3 brings it back as an integer. Each step is compatible, v3 against v1 is not.
CHAIN_V1 = obj({"id": STRING, "a": STRING}, ["id"])
CHAIN_V2 = obj({"id": STRING}, ["id"])
CHAIN_V3 = obj({"id": STRING, "a": {"type": "integer"}}, ["id"])


@pytest.mark.parametrize(
    ("step_mode", "transitive_mode", "directions"),
    [
        (Mode.BACKWARD, Mode.BACKWARD_TRANSITIVE, {"backward"}),
        (Mode.FORWARD, Mode.FORWARD_TRANSITIVE, {"forward"}),
        (Mode.FULL, Mode.FULL_TRANSITIVE, {"backward", "forward"}),
    ],
)
def test_transitive_modes_catch_what_step_by_step_checks_miss(
    step_mode, transitive_mode, directions
):
    assert check(CHAIN_V2, [CHAIN_V1], step_mode) == []
    assert check(CHAIN_V3, [CHAIN_V1, CHAIN_V2], step_mode) == []
    assert check(CHAIN_V3, [CHAIN_V2], transitive_mode) == []
    found_ = check(CHAIN_V3, [CHAIN_V1, CHAIN_V2], transitive_mode)
    assert {(i.direction, i.path, i.rule) for i in found_} == {
        (direction, "/properties/a/type", "type-narrowed") for direction in directions
    }
    assert all("vs version 1:" in i.message for i in found_)


# -- messages --------------------------------------------------------------------------------


def test_messages_name_direction_version_path_and_rule():
    [backward] = check(obj({"a": STRING}, ["a", "b"]), [obj({"a": STRING}, ["a"])], Mode.BACKWARD)
    assert backward == Incompatibility(
        path="/required",
        rule="required-added",
        message="BACKWARD vs version 1: /required [required-added]: 'b' is required by the new "
        "schema but not by the old schema (old events may lack it)",
        direction="backward",
    )
    [forward] = check(obj({"a": STRING}), [obj({"a": STRING}, ["a"])], Mode.FORWARD)
    assert forward.message.startswith("FORWARD vs version 1: /required [required-added]: 'a' is ")
    assert "required by the old schema but not by the new schema (new events may lack it)" in (
        forward.message
    )
    for incompatibility in reader_can_read(obj({"x/y": {"type": "integer"}}), obj({"x/y": STRING})):
        assert incompatibility.message.startswith(
            "BACKWARD: /properties/x~1y/type [type-narrowed]:"
        )
        assert incompatibility.path in incompatibility.message
        assert incompatibility.rule in incompatibility.message


# -- rule 1: required-added -------------------------------------------------------------------


def test_adding_an_optional_property_to_the_closed_customer_schema_is_backward_compatible():
    with_email = customer(properties={**CUSTOMER_V1["properties"], "email": STRING})
    assert check(with_email, [CUSTOMER_V1], Mode.BACKWARD) == []
    assert check(with_email, [CUSTOMER_V1], Mode.BACKWARD_TRANSITIVE) == []
    assert rules_of(check(with_email, [CUSTOMER_V1], Mode.FORWARD)) == {
        ("forward", "property-not-allowed")  # the closed old schema rejects events with email
    }


def test_adding_an_optional_property_to_an_implicitly_open_schema_is_fully_compatible():
    assert check(obj({"a": STRING, "b": STRING}), [obj({"a": STRING})], Mode.FULL) == []


def test_required_added_compatible_and_incompatible():
    assert found(obj({"a": STRING}), obj({"a": STRING}, ["a"])) == set()  # requirement dropped
    assert found(obj({"a": STRING}, ["a"]), obj({"a": STRING})) == {("/required", "required-added")}
    nested = copy.deepcopy(CUSTOMER_V1)
    nested["properties"]["shippingAddress"]["properties"]["unit"] = STRING
    nested["properties"]["shippingAddress"]["required"].append("unit")
    assert found(nested, CUSTOMER_V1) == {
        ("/properties/shippingAddress/required", "required-added")
    }


# -- rule 2: closed and open content models ---------------------------------------------------


def test_removing_an_optional_property_from_a_closed_model_breaks_backward_not_forward():
    assert found(CLOSED_A, CLOSED_AB) == {("/properties/b", "property-not-allowed")}
    assert found(CLOSED_AB, CLOSED_A) == set()
    assert rules_of(check(CLOSED_A, [CLOSED_AB], Mode.FULL)) == {
        ("backward", "property-not-allowed")
    }


def test_removing_a_nested_property_from_the_closed_customer_address():
    schema = copy.deepcopy(CUSTOMER_V1)
    address = schema["properties"]["shippingAddress"]
    del address["properties"]["state"]
    address["required"].remove("state")
    assert found(schema, CUSTOMER_V1) == {
        ("/properties/shippingAddress/properties/state", "property-not-allowed")
    }
    # ...and forward too: the old schema requires the state new events no longer carry.
    assert found(CUSTOMER_V1, schema) == {
        ("/properties/shippingAddress/required", "required-added")
    }


def test_a_property_declared_false_is_not_allowed():
    writer = obj({"a": STRING, "b": STRING})
    assert found(obj({"a": STRING, "b": False}), writer) == {
        ("/properties/b", "property-not-allowed")
    }
    assert (
        found(obj({"a": STRING, "b": False}), obj({"a": STRING}, additionalProperties=False))
        == set()
    )


def test_open_content_unconstrained():
    explicit_open = obj({"a": STRING}, additionalProperties=True)
    constrained = obj({"a": STRING, "nickname": STRING}, additionalProperties=True)
    anything = obj(
        {"a": STRING, "nickname": {"description": "any JSON"}}, additionalProperties=True
    )
    assert found(constrained, explicit_open) == {
        ("/properties/nickname", "open-content-unconstrained")
    }
    assert found(anything, explicit_open) == set()
    # Policy: declaring properties without additionalProperties = sends only what it declares.
    assert found(constrained, obj({"a": STRING})) == set()
    # ...but a free-form object (no properties, no additionalProperties) may send anything.
    assert found(constrained, {"type": "object"}) == {
        ("/properties/a", "open-content-unconstrained"),
        ("/properties/nickname", "open-content-unconstrained"),
    }
    assert found(obj({"a": {}}), {"type": "object"}) == set()
    # Forward: the old reader constrains a property the new, explicitly open writer dropped.
    assert rules_of(check(explicit_open, [constrained], Mode.FORWARD)) == {
        ("forward", "open-content-unconstrained")
    }


def test_a_property_sent_under_the_writers_additional_properties_schema_is_compared():
    writer = obj({}, additionalProperties={"type": "integer"})
    assert found(obj({"n": {"type": "number"}}), writer) == set()
    assert found(obj({"n": STRING}), writer) == {("/properties/n/type", "type-narrowed")}


# -- rule 5: additionalProperties -------------------------------------------------------------


@pytest.mark.parametrize("writer_extra", [None, True, {"type": "string"}])
def test_closing_an_open_model_tightens_additional_properties(writer_extra):
    writer = (
        obj({"a": STRING})
        if writer_extra is None
        else obj({"a": STRING}, additionalProperties=writer_extra)
    )
    assert found(obj({"a": STRING}, additionalProperties=False), writer) == {
        ("/additionalProperties", "additional-properties-tightened")
    }
    assert found(writer, obj({"a": STRING}, additionalProperties=False)) == set()  # opening is fine


def test_additional_properties_schemas_recurse():
    two_types = obj({}, additionalProperties={"type": ["string", "integer"]})
    one_type = obj({}, additionalProperties=STRING)
    assert found(one_type, two_types) == {("/additionalProperties/type", "type-narrowed")}
    assert found(two_types, one_type) == set()


# -- rule 3: types ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reader", "writer", "compatible"),
    [
        ({"type": "number"}, {"type": "integer"}, True),
        ({"type": "integer"}, {"type": "number"}, False),
        ({"type": ["string", "null"]}, STRING, True),
        (STRING, {"type": ["string", "null"]}, False),
        (STRING, {"minLength": 1}, False),  # an untyped writer may send any type
        (STRING, {"enum": ["a", "b"]}, True),  # an enum writer sends only its values' types
        ({"type": "integer"}, {"enum": [1, 2.0]}, True),
        ({"type": "integer"}, {"const": 1.5}, False),
    ],
)
def test_type_narrowed(reader, writer, compatible):
    expected = set() if compatible else {("/type", "type-narrowed")}
    assert found(reader, writer) == expected


def test_keywords_of_other_types_are_ignored():
    assert found({"type": "integer", "maxLength": 2, "minItems": 3}, {"type": "integer"}) == set()
    assert found({"maxLength": 2}, {"type": "integer"}) == set()
    assert found({"maxLength": 2}, {"type": ["integer", "string"]}) == {
        ("/maxLength", "bounds-tightened")
    }


# -- rule 4: enum and const -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reader", "writer", "compatible"),
    [
        ({"enum": ["a", "b", "c"]}, {"enum": ["a", "b"]}, True),
        ({"enum": ["a"]}, {"enum": ["a", "b"]}, False),
        ({"enum": ["a", "b"]}, STRING, False),  # reader enum, writer none
        ({"enum": ["a", "b"]}, {"const": "a"}, True),
        ({"const": "a"}, {"enum": ["a", "b"]}, False),
        ({"const": "a"}, {"const": "a", "type": "string"}, True),
        ({"enum": [1]}, {"enum": [1.0]}, True),  # JSON numbers: 1 == 1.0
        ({"enum": [True]}, {"enum": [1]}, False),  # but true is not 1
        ({"enum": [{"k": [1, 2]}]}, {"const": {"k": [1, 2]}}, True),
    ],
)
def test_enum_narrowed(reader, writer, compatible):
    key = "const" if "const" in reader else "enum"
    assert found(reader, writer) == (set() if compatible else {(f"/{key}", "enum-narrowed")})


def test_enum_narrowed_message_lists_the_lost_values():
    [problem] = reader_can_read({"enum": ["a"]}, {"enum": ["a", "b", 3]})
    assert problem.message.endswith(
        'the writer schema allows "b", 3, which the reader schema rejects'
    )


# -- rule 6: bounds, patterns, formats --------------------------------------------------------


TIGHTENED = [
    ({"minimum": 0}, {"minimum": 1}, "/minimum"),
    ({"minimum": 0}, {"exclusiveMinimum": 0}, "/exclusiveMinimum"),
    ({"type": "number"}, {"type": "number", "minimum": 0}, "/minimum"),
    ({"maximum": 10}, {"maximum": 9.5}, "/maximum"),
    ({"exclusiveMaximum": 10}, {"exclusiveMaximum": 9}, "/exclusiveMaximum"),
    ({"maximum": 10}, {"exclusiveMaximum": 10}, "/exclusiveMaximum"),
    ({"multipleOf": 2}, {"multipleOf": 4}, "/multipleOf"),
    ({"multipleOf": 0.25}, {"multipleOf": 0.5}, "/multipleOf"),
    ({"minLength": 1}, {"minLength": 2}, "/minLength"),
    ({"type": "string"}, {"type": "string", "maxLength": 10}, "/maxLength"),
    ({"maxLength": 10}, {"maxLength": 5}, "/maxLength"),
    ({"type": "array"}, {"type": "array", "minItems": 1}, "/minItems"),
    ({"maxItems": 3}, {"maxItems": 2}, "/maxItems"),
    ({"type": "array"}, {"type": "array", "uniqueItems": True}, "/uniqueItems"),
    ({"type": "object"}, {"type": "object", "minProperties": 1}, "/minProperties"),
    ({"maxProperties": 3}, {"maxProperties": 2}, "/maxProperties"),
]


@pytest.mark.parametrize(("writer", "reader", "path"), TIGHTENED)
def test_bounds_tightened(writer, reader, path):
    assert found(reader, writer) == {(path, "bounds-tightened")}


@pytest.mark.parametrize(("writer", "reader", "path"), TIGHTENED)
def test_bounds_loosened_are_compatible(writer, reader, path):
    assert found(writer, reader) == set()


def test_equal_bounds_in_another_spelling_are_compatible():
    assert found({"minimum": 1, "exclusiveMinimum": 0}, {"minimum": 1}) == set()
    assert found({"multipleOf": 0.1}, {"multipleOf": 0.3}) == set()  # decimal, not binary floats


@pytest.mark.parametrize(
    ("reader", "writer", "compatible"),
    [
        ({"type": "string", "pattern": "^[a-z]+$"}, STRING, False),
        (
            {"type": "string", "pattern": "^[a-z]+$"},
            {"type": "string", "pattern": "^[a-z]*$"},
            False,
        ),
        (STRING, {"type": "string", "pattern": "^[a-z]+$"}, True),
        ({"pattern": "^a", "maxLength": 9}, {"pattern": "^a", "maxLength": 5}, True),
    ],
)
def test_pattern_changed(reader, writer, compatible):
    assert found(reader, writer) == (set() if compatible else {("/pattern", "pattern-changed")})


def test_format_changed():
    assert found({"type": "string", "format": "uuid"}, STRING) == {("/format", "format-changed")}
    assert found({"type": "string", "format": "uuid"}, {"format": "email", "type": "string"}) == {
        ("/format", "format-changed")
    }
    assert found(STRING, {"type": "string", "format": "uuid"}) == set()


def test_order_total_pattern_change_in_the_real_order_schema():
    stricter = copy.deepcopy(ORDER_PLACED_V1)
    stricter["properties"]["orderTotal"]["pattern"] = "^[0-9]+\\.[0-9]{2}$"
    assert found(stricter, ORDER_PLACED_V1) == {
        ("/properties/orderTotal/pattern", "pattern-changed")
    }


# -- rule 7: nesting --------------------------------------------------------------------------


def test_nested_objects_extend_the_path():
    stricter = copy.deepcopy(CUSTOMER_V1)
    stricter["properties"]["shippingAddress"]["properties"]["city"]["minLength"] = 2
    path = "/properties/shippingAddress/properties/city/minLength"
    assert [(i.path, i.rule) for i in check(stricter, [CUSTOMER_V1], Mode.BACKWARD)] == [
        (path, "bounds-tightened")
    ]
    assert check(stricter, [CUSTOMER_V1], Mode.FORWARD) == []


def test_arrays_recurse_into_items():
    writer = obj({"tags": {"type": "array", "items": {"type": "integer"}}})
    wider = obj({"tags": {"type": "array", "items": {"type": "number"}}})
    narrower = obj({"tags": {"type": "array", "items": STRING}})
    assert found(wider, writer) == set()
    assert found(narrower, writer) == {("/properties/tags/items/type", "type-narrowed")}
    assert found(
        obj({"tags": {"type": "array", "items": STRING}}), obj({"tags": {"type": "array"}})
    ) == {
        ("/properties/tags/items/type", "type-narrowed")  # no items = any items
    }


def test_order_line_items_removed_property_names_the_nested_path():
    slimmer = copy.deepcopy(ORDER_PLACED_V1)
    line = slimmer["properties"]["items"]["items"]
    del line["properties"]["productName"]
    line["required"].remove("productName")
    assert found(slimmer, ORDER_PLACED_V1) == {
        ("/properties/items/items/properties/productName", "property-not-allowed")
    }
    assert found(ORDER_PLACED_V1, slimmer) == {
        ("/properties/items/items/required", "required-added")
    }


def test_false_schema():
    assert found({"type": "array", "items": False}, {"type": "array"}) == {
        ("/items", "false-schema")
    }
    assert found({"type": "array", "items": False}, {"type": "array", "items": False}) == set()
    assert found(True, False) == set() and found({}, CUSTOMER_V1) == set()
    assert found(False, {}) == {("", "false-schema")}


# -- rule 8: keywords the checker does not understand ----------------------------------------


ONE_OF = {"oneOf": [STRING, {"type": "integer"}]}


@pytest.mark.parametrize(
    ("reader", "writer", "expected"),
    [
        (ONE_OF, {}, {("/oneOf", "unsupported-keyword")}),
        ({**ONE_OF, "description": "x"}, {**ONE_OF, "title": "y"}, set()),
        ({**ONE_OF, "maxLength": 9}, {**ONE_OF, "maxLength": 5}, set()),  # identical oneOf
        ({"$ref": "#/$defs/a"}, {"$ref": "#/$defs/b"}, {("/$ref", "unsupported-keyword")}),
        (
            {"$ref": "#/$defs/a", "$defs": {"a": STRING}},
            {"$ref": "#/$defs/a", "$defs": {"a": {"type": "integer"}}},
            {("/$defs", "unsupported-keyword")},
        ),
        ({"$defs": {"a": STRING}, "type": "number"}, {"$defs": {}, "type": "integer"}, set()),
        (
            {"if": {"required": ["a"]}, "then": {"required": ["b"]}},
            {"if": {"required": ["a"]}, "then": {"required": ["c"]}},
            {("/if", "unsupported-keyword")},
        ),
        (
            obj({}, dependentSchemas={"a": {"required": ["b"]}}),
            obj({}, dependentSchemas={"a": {"required": ["c"]}}),
            {("/dependentSchemas", "unsupported-keyword")},
        ),
        ({"allOf": [{"anyOf": [STRING]}]}, {}, {("/allOf", "unsupported-keyword")}),
        ({"notAKeyword": 1}, {}, {("/notAKeyword", "unsupported-keyword")}),
        ({"x-owner": "team"}, {}, set()),
        # A keyword only the writer has can only narrow what the writer produces.
        (
            {"type": "string", "minLength": 1},
            {"type": "string", "minLength": 1, "allOf": [{"maxLength": 5}], "not": {"const": "-"}},
            set(),
        ),
    ],
)
def test_unsupported_keywords(reader, writer, expected):
    assert found(reader, writer) == expected


def test_sibling_dependent_keywords_stop_the_comparison_unless_identical():
    patterned = obj({"a": STRING}, patternProperties={"^x-": STRING}, additionalProperties=False)
    assert found(patterned, copy.deepcopy(patterned)) == set()
    assert found(obj({"a": STRING}, additionalProperties=False), patterned) == {
        ("/patternProperties", "unsupported-keyword")
    }
    assert found({"type": "array", "prefixItems": [STRING]}, {"type": "array"}) == {
        ("/prefixItems", "unsupported-keyword")
    }
    changed = {**patterned, "required": ["a"]}
    assert found(changed, patterned) == {("/patternProperties", "unsupported-keyword")}


def test_unsupported_keyword_nested_in_the_customer_schema():
    schema = copy.deepcopy(CUSTOMER_V1)
    schema["properties"]["shippingAddress"]["properties"]["postalCode"] = {
        "anyOf": [{"type": "string", "minLength": 1}, {"type": "null"}]
    }
    assert found(schema, CUSTOMER_V1) == {
        ("/properties/shippingAddress/properties/postalCode/anyOf", "unsupported-keyword")
    }


def test_a_non_schema_value_is_a_type_error():
    with pytest.raises(TypeError, match="/properties/a"):
        reader_can_read(obj({"a": "string"}), obj({"a": STRING}))


# -- the verdicts hold for real documents -----------------------------------------------------


@pytest.mark.parametrize(
    ("reader", "writer", "document"),
    [
        (CLOSED_A, CLOSED_AB, {"a": "x", "b": "y"}),
        (
            obj({"a": STRING, "n": STRING}, additionalProperties=True),
            obj({"a": STRING}, additionalProperties=True),
            {"a": "x", "n": 1},
        ),
        (obj({"a": STRING}, additionalProperties=False), obj({"a": STRING}), {"a": "x", "z": 1}),
        ({"type": "integer"}, {"type": "number"}, 1.5),
        ({"enum": ["a"]}, {"enum": ["a", "b"]}, "b"),
        ({"maximum": 9}, {"maximum": 10}, 10),
        ({"type": "string", "pattern": "^[a-z]+$"}, STRING, "ABC"),
        (customer(required=[*CUSTOMER_V1["required"], "email"]), CUSTOMER_V1, None),
    ],
)
def test_each_reported_incompatibility_has_a_witness(reader, writer, document):
    """A document the writer accepts and the reader rejects exists for every reported case."""
    if document is None:
        document = {
            "customerId": "7f0c7a3e-37a5-4d3c-9f5e-1b2b3c4d5e6f",
            "shippingAddress": dict.fromkeys(
                ("street", "city", "state", "country", "postalCode"), "x"
            ),
        }
    assert reader_can_read(reader, writer)
    assert Draft202012Validator(writer).is_valid(document)
    assert not Draft202012Validator(reader).is_valid(document)


# -- soundness on random schemas --------------------------------------------------------------

VALUES = [None, True, 0, 1, 2, 1.5, -3, 10, "", "a", "ab", "ABC", [], [1, 1], {}, {"a": "a"}]
KEYWORD_VALUES = {
    "type": ["string", "integer", "number", "object", "array", ["string", "null"]],
    "minimum": [0, 1],
    "exclusiveMaximum": [2, 10],
    "multipleOf": [2, 0.5],
    "minLength": [1, 2],
    "maxLength": [1, 3],
    "pattern": ["^a", "^[a-z]+$"],
    "enum": [["a", "b"], [1, "a", None], [True]],
    "const": ["a", 1],
    "maxItems": [1, 2],
    "uniqueItems": [True],
    "minProperties": [1],
    "required": [["a"], ["a", "b"]],
}


def random_schema(rng, depth=0):
    if rng.random() < 0.05:
        return rng.choice([True, False])
    schema = {k: rng.choice(v) for k, v in KEYWORD_VALUES.items() if rng.random() < 0.12}
    if depth < 2 and rng.random() < 0.4:  # always an explicit content model: no policy here
        names = rng.sample(["a", "b"], rng.randint(0, 2))
        schema["properties"] = {name: random_schema(rng, depth + 1) for name in names}
        schema["additionalProperties"] = rng.choice([True, False, {"type": "integer"}])
    for keyword in ("items", "not", "contains", "patternProperties", "prefixItems", "allOf"):
        if depth < 2 and rng.random() < 0.05:
            sub = random_schema(rng, depth + 1)
            wrap = {"patternProperties": {"^a": sub}, "prefixItems": [sub], "allOf": [sub]}
            schema[keyword] = wrap.get(keyword, sub)
    return schema


def random_document(rng, depth=0):
    if depth < 2 and rng.random() < 0.3:
        return {k: random_document(rng, depth + 1) for k in rng.sample("abz", rng.randint(0, 3))}
    if depth < 2 and rng.random() < 0.2:
        return [random_document(rng, depth + 1) for _ in range(rng.randint(0, 2))]
    return rng.choice(VALUES)


def test_compatible_verdicts_never_reject_a_document_the_writer_accepts():
    rng = random.Random(20_260_101)
    documents = VALUES + [random_document(rng) for _ in range(80)]
    compatible = 0
    for _ in range(1500):
        writer = random_schema(rng)
        reader = random_schema(rng) if rng.random() < 0.3 else _mutated(rng, writer)
        if reader_can_read(reader, writer):
            continue
        compatible += 1
        accepts_reader, accepts_writer = (
            Draft202012Validator(s).is_valid for s in (reader, writer)
        )
        rejected = [d for d in documents if accepts_writer(d) and not accepts_reader(d)]
        assert not rejected, (reader, writer, rejected[:1])
    assert compatible > 300  # the generator does produce compatible pairs


def _mutated(rng, schema):
    if isinstance(schema, bool):
        return random_schema(rng)
    mutated = {k: v for k, v in schema.items() if rng.random() > 0.2}
    other = random_schema(rng)
    if isinstance(other, dict):
        mutated.update((k, v) for k, v in other.items() if rng.random() < 0.3)
    return mutated
