"""Rule engine: can a reader schema accept every document a writer schema accepts?

Pure functions over JSON Schema draft 2020-12 documents (dicts and booleans). The rule table and
the public API live in :mod:`edn_core.compatibility`; this module only walks two schemas
side by side and reports :class:`Finding` tuples whose text says "{reader} schema" / "{writer}
schema" with the labels the caller chose (e.g. "new" and "old").

The walk and the unsupported-keyword checks are here; the rules themselves are mixins in
:mod:`edn_core.compatibility.rules_values` (type, enum, numbers, strings, min/max counts) and
:mod:`edn_core.compatibility.rules_structure` (arrays, objects, properties), over the single-schema
helpers of :mod:`edn_core.compatibility.schema_facts`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from .rules_structure import StructureRules
from .rules_values import ValueRules
from .schema_facts import (
    DEFINITIONS,
    HANDLED,
    KEYWORD_GROUPS,
    SIBLING_DEPENDENT,
    Schema,
    accepts_anything,
    accepts_type,
    checked,
    is_annotation,
    mentions_reference,
    possible_types,
    same,
    same_keyword,
)


class Finding(NamedTuple):
    """One reason the reader may reject a document the writer accepts."""

    path: str
    rule: str
    detail: str


def compare(reader: Schema, writer: Schema, reader_label: str, writer_label: str) -> list[Finding]:
    """Every way a document valid under ``writer`` may be rejected by ``reader``."""
    comparison = _Comparison(reader_label, writer_label, mentions_reference(reader))
    comparison.schema(reader, writer, "")
    return comparison.findings


class _Comparison(ValueRules, StructureRules):
    def __init__(self, reader_label: str, writer_label: str, compare_definitions: bool) -> None:
        self.r, self.w = reader_label, writer_label
        self.compare_definitions = compare_definitions
        self.findings: list[Finding] = []

    def add(self, path: str, rule: str, detail: str) -> None:
        self.findings.append(Finding(path, rule, detail))

    def schema(self, reader: Schema, writer: Schema, path: str) -> None:
        reader, writer = checked(reader, path), checked(writer, path)
        if writer is False or accepts_anything(reader) or same(reader, writer):
            return
        if reader is False:
            self.add(path, "false-schema", f"the {self.r} schema accepts nothing here")
            return
        writer = {} if writer is True else writer
        if not self.opaque(reader, writer, path):
            return
        types = possible_types(writer)
        self.types(reader, types, path)
        self.enum(reader, writer, path)
        readable = {kind for kind in types if accepts_type(reader, kind)}
        if readable & {"integer", "number"}:
            self.numbers(reader, writer, path)
        if "string" in readable:
            self.strings(reader, writer, path)
        if "array" in readable:
            self.arrays(reader, writer, path)
        if "object" in readable:
            self.objects(reader, writer, path)

    def opaque(self, reader: dict, writer: dict, path: str) -> bool:
        """Report keywords the checker does not understand; False = stop comparing here."""
        blocking = [k for k in SIBLING_DEPENDENT if k in reader or k in writer]
        for keyword in blocking:
            self.add(
                f"{path}/{keyword}",
                "unsupported-keyword",
                f"'{keyword}' changes the meaning of its sibling keywords; the checker only "
                f"accepts it when the {self.r} and {self.w} schemas are identical here",
            )
        for group in self._opaque_groups(reader):
            if not all(same_keyword(reader, writer, keyword) for keyword in group):
                first = next(keyword for keyword in group if keyword in reader)
                self.add(
                    f"{path}/{first}",
                    "unsupported-keyword",
                    f"the checker cannot compare '{'/'.join(group)}'; it must be identical in "
                    f"the {self.r} and {self.w} schemas",
                )
        return not blocking

    def _opaque_groups(self, reader: dict) -> Iterator[tuple[str, ...]]:
        seen: set[tuple[str, ...]] = set()
        for keyword in sorted(reader):
            if keyword in HANDLED or is_annotation(keyword):
                continue
            if keyword in DEFINITIONS and not self.compare_definitions:
                continue
            group = next((g for g in KEYWORD_GROUPS if keyword in g), (keyword,))
            if group not in seen:
                seen.add(group)
                yield group
