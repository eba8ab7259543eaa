"""Facts about one JSON Schema (draft 2020-12) document, shared by the compatibility rules.

Keyword tables plus pure helpers: which keywords are annotations, which types and values a schema
can produce or accept, and JSON equality (1 == 1.0, true != 1). Nothing here compares a reader
schema with a writer schema; that is :mod:`edn_core.compatibility.rules`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Schema = dict[str, Any] | bool

# fmt: off
ANNOTATIONS = frozenset({
    "$schema", "$id", "$anchor", "$dynamicAnchor", "$comment", "$vocabulary", "title",
    "description", "default", "examples", "deprecated", "readOnly", "writeOnly",
    "contentEncoding", "contentMediaType", "contentSchema",
})
HANDLED = frozenset({
    "type", "enum", "const", "properties", "required", "additionalProperties", "minProperties",
    "maxProperties", "items", "minItems", "maxItems", "uniqueItems", "minimum", "exclusiveMinimum",
    "maximum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern", "format",
})
# fmt: on
# Keywords that change what their siblings mean: with them present, nothing here is comparable.
SIBLING_DEPENDENT = (
    "patternProperties",
    "prefixItems",
    "unevaluatedItems",
    "unevaluatedProperties",
)
KEYWORD_GROUPS = (("if", "then", "else"), ("contains", "minContains", "maxContains"))
REFERENCES = ("$ref", "$dynamicRef")
DEFINITIONS = ("$defs", "definitions")
ALL_TYPES = frozenset({"null", "boolean", "object", "array", "number", "integer", "string"})


def accepts_anything(schema: Schema) -> bool:
    """True for ``true``, ``{}`` and schemas made only of annotations."""
    if isinstance(schema, bool):
        return schema
    return not any(k for k in essence(schema) if k not in DEFINITIONS)


def checked(schema: Any, path: str) -> Schema:
    if not isinstance(schema, bool | dict):
        raise TypeError(f"{path or '/'}: a schema is an object or a boolean, not {schema!r}")
    return schema


def is_annotation(keyword: str) -> bool:
    return keyword in ANNOTATIONS or keyword.startswith("x-")


def essence(schema: Schema) -> Schema:
    if isinstance(schema, bool):
        return schema
    return {k: v for k, v in schema.items() if not is_annotation(k)}


def same(reader: Schema, writer: Schema) -> bool:
    return json_equal(essence(reader), essence(writer))


def same_keyword(reader: dict, writer: dict, keyword: str) -> bool:
    return (keyword in reader) == (keyword in writer) and json_equal(
        reader.get(keyword), writer.get(keyword)
    )


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but true != 1 and key order does not matter."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(json_equal, a, b))
    return type(a) is type(b) and a == b


def mentions_reference(schema: Any) -> bool:
    if isinstance(schema, dict):
        return any(k in REFERENCES for k in schema) or _any_reference(schema.values())
    return isinstance(schema, list) and _any_reference(schema)


def _any_reference(values: Iterable[Any]) -> bool:
    return any(mentions_reference(value) for value in values)


def declared_types(schema: dict) -> set[str]:
    declared = schema.get("type")
    if declared is None:
        return set(ALL_TYPES)
    return {declared} if isinstance(declared, str) else set(declared)


def accepts_type(schema: dict, kind: str) -> bool:
    declared = declared_types(schema)
    return kind in declared or (kind == "integer" and "number" in declared)


def type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    names = {float: "number", str: "string", list: "array", dict: "object", type(None): "null"}
    return names[type(value)]


def enum_values(schema: dict) -> list[Any] | None:
    """The only values the schema allows by enum/const, or None when it has neither."""
    values = list(schema["enum"]) if "enum" in schema else None
    if "const" in schema:
        const = schema["const"]
        return [const] if values is None or any(json_equal(const, v) for v in values) else []
    return values


def produced_values(writer: dict) -> list[Any] | None:
    values = enum_values(writer)
    if values is None:
        return None
    return [value for value in values if accepts_type(writer, type_of(value))]


def possible_types(writer: dict) -> set[str]:
    values = produced_values(writer)
    return declared_types(writer) if values is None else {type_of(v) for v in values}
