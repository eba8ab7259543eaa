"""Reader schemas: the shape each consumer reads of a topic, and whether a producer's schema
still gives it that shape.

A consuming app declares what it reads of a topic in ``<app>/schemas/reads/<topic>.json``
(JSON Schema, draft 2020-12): only the fields its handlers use, required where they need
them. The consumer's name is the app's label. ``edn_schemas register`` registers each file as
a reader of the topic's subject; the registry then refuses a producer version a reader could
not read, whatever the subject's compatibility mode (docs/schema-registry.md).

Pure functions over the rule engine of :mod:`edn_core.compatibility`: the registry and
``edn_schemas check`` (offline, against this repository's files) give the same answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from edn_core.compatibility.rules import compare

__all__ = ["CONSUMER", "READS", "ReaderConflict", "conflicts", "fields_read"]

READS = "reads"  # <app>/schemas/reads/<topic>.json
CONSUMER = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")
_QUOTED = re.compile(r"'([^']+)'")
_NAMED = ("required", "dependentRequired")


@dataclass(frozen=True)
class ReaderConflict:
    """One way events valid under a producer's schema may break a consumer that reads them."""

    consumer: str
    field: str  # the data path at fault, e.g. "lines[].productId"; "" for the event itself
    rule: str  # the rule id of edn_core.compatibility, e.g. "required-added"
    message: str  # a sentence naming the consumer, the field and the rule

    def as_dict(self) -> dict[str, str]:
        return {"consumer": self.consumer, "field": self.field, "rule": self.rule}


def data_path(schema_path: str, detail: str = "") -> str:
    """The data field a JSON pointer into a schema names: ``/properties/a/items/properties/b``
    is ``a[].b``; ``/properties/a/required`` names the property its detail quotes."""
    parts, field, keys = schema_path.strip("/").split("/") if schema_path else [], [], False
    for part in parts:
        if keys:
            field.append(part)
            keys = False
        elif part == "properties":
            keys = True
        elif part == "items" and field:
            field[-1] += "[]"
        elif part in _NAMED and (quoted := _QUOTED.search(detail)):
            field.append(quoted.group(1))
            break
    return ".".join(field)


def conflicts(consumer: str, reader: dict, writer: dict) -> list[ReaderConflict]:
    """Every way an event valid under ``writer`` may be refused by ``consumer``'s ``reader``;
    [] when the consumer reads every such event."""
    found = []
    for finding in compare(reader, writer, "reader", "producer"):
        field = data_path(finding.path, finding.detail)
        where = f"field {field}" if field else "the event"
        found.append(
            ReaderConflict(
                consumer,
                field,
                finding.rule,
                f"reader {consumer}: {where} [{finding.rule}] at {finding.path or '/'}: "
                f"{finding.detail}",
            )
        )
    return found


def fields_read(reader: Any, prefix: str = "") -> list[tuple[str, bool]]:
    """The fields a reader schema names, as (data path, required), by name, depth first: what
    the consumer reads of each event (the admin lists them). By name, as PostgreSQL's jsonb
    keeps no order of keys."""
    if not isinstance(reader, dict):
        return []
    fields: list[tuple[str, bool]] = []
    required = set(reader.get("required") or [])
    for name, schema in sorted((reader.get("properties") or {}).items()):
        path = f"{prefix}{name}"
        fields.append((path, name in required))
        fields += fields_read(schema, f"{path}.")
        items = schema.get("items") if isinstance(schema, dict) else None
        fields += fields_read(items, f"{path}[].")
    return fields
