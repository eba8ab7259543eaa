"""Compatibility rules for containers: arrays, objects, their properties and nested schemas.

:class:`StructureRules` is a mixin for :class:`edn_core.compatibility.rules._Comparison`; it
recurses into nested schemas through the comparison's ``schema`` method and uses ``counts`` from
:class:`edn_core.compatibility.rules_values.ValueRules`.
"""

from __future__ import annotations

from collections.abc import Callable

from .schema_facts import Schema, accepts_anything, json_equal


class StructureRules:
    # Provided by the comparison this is mixed into (annotations only, no attributes).
    r: str
    w: str
    add: Callable[[str, str, str], None]
    schema: Callable[[Schema, Schema, str], None]
    counts: Callable[[dict, dict, str, tuple[str, str], str], None]

    def arrays(self, reader: dict, writer: dict, path: str) -> None:
        self.counts(reader, writer, path, ("minItems", "maxItems"), "items")
        if reader.get("uniqueItems") is True and writer.get("uniqueItems") is not True:
            self.add(
                f"{path}/uniqueItems",
                "bounds-tightened",
                f"the {self.r} schema requires unique items but the {self.w} schema does not",
            )
        mine, theirs = reader.get("items", True), writer.get("items", True)
        if isinstance(mine, list) or isinstance(theirs, list):  # draft-07 tuples, not 2020-12
            if not json_equal(mine, theirs):
                self.add(
                    f"{path}/items",
                    "unsupported-keyword",
                    "array-form 'items' must be identical in both schemas",
                )
            return
        self.schema(mine, theirs, f"{path}/items")

    def objects(self, reader: dict, writer: dict, path: str) -> None:
        for name in reader.get("required", []):
            if name not in writer.get("required", []):
                self.add(
                    f"{path}/required",
                    "required-added",
                    f"{name!r} is required by the {self.r} schema but not by the {self.w} "
                    f"schema ({self.w} events may lack it)",
                )
        self.properties(reader, writer, path)
        self.additional_properties(reader, writer, path)
        self.counts(reader, writer, path, ("minProperties", "maxProperties"), "properties")

    def properties(self, reader: dict, writer: dict, path: str) -> None:
        """Each declared property, as the writer may send it and as the reader takes it."""
        mine, theirs = reader.get("properties", {}), writer.get("properties", {})
        reader_extra, writer_extra = (
            reader.get("additionalProperties", True),
            _writer_extra(writer),
        )
        for name in sorted(mine.keys() | theirs.keys()):
            at = f"{path}/properties/{_escape(name)}"
            sent = theirs.get(name, writer_extra)
            if sent is None or sent is False:
                continue  # closed, or declares properties: assumed not to send undeclared names
            taken = mine.get(name, reader_extra)
            if taken is False:
                self.add(
                    at,
                    "property-not-allowed",
                    f"the {self.w} schema allows property {name!r} but the {self.r} schema "
                    f"forbids it (additionalProperties: false and not declared, or declared false)",
                )
            elif name not in theirs and accepts_anything(sent):
                if not accepts_anything(taken):
                    self.add(
                        at,
                        "open-content-unconstrained",
                        f"the {self.w} schema allows any value for undeclared {name!r} "
                        f"(additionalProperties: true) but the {self.r} schema constrains it",
                    )
            else:
                self.schema(taken, sent, at)

    def additional_properties(self, reader: dict, writer: dict, path: str) -> None:
        """Names neither schema declares: an absent writer keyword means true here."""
        mine, theirs = (
            reader.get("additionalProperties", True),
            writer.get("additionalProperties", True),
        )
        if theirs is False or accepts_anything(mine):
            return
        if mine is False:
            self.add(
                f"{path}/additionalProperties",
                "additional-properties-tightened",
                f"the {self.r} schema forbids undeclared properties but the {self.w} schema "
                f"allows them",
            )
        else:
            self.schema(mine, theirs, f"{path}/additionalProperties")


def _writer_extra(writer: dict) -> Schema | None:
    """The writer's additionalProperties; None = absent beside ``properties`` (see the policy)."""
    return writer.get("additionalProperties", None if "properties" in writer else True)


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")
