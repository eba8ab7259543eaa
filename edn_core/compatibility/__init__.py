"""JSON Schema (draft 2020-12) compatibility checks with Confluent Schema Registry semantics.

Pure Python, no Django. ``check(new, existing, mode)`` answers whether ``new`` may be registered
after ``existing`` (oldest first) under a compatibility ``mode``; an empty list means compatible.

Modes (Confluent's meaning; "latest" = ``existing[-1]``, "all" = every version in ``existing``):

====================  ==========================================================================
NONE                  no checks
BACKWARD              consumers on the new schema read events of the latest version:
                      ``reader_can_read(new, latest)``
BACKWARD_TRANSITIVE   the same against all previous versions
FORWARD               consumers on the latest version read events of the new schema:
                      ``reader_can_read(latest, new)``
FORWARD_TRANSITIVE    the same against all previous versions
FULL                  BACKWARD and FORWARD against the latest version
FULL_TRANSITIVE       BACKWARD and FORWARD against all previous versions
====================  ==========================================================================

With no previous version every schema is compatible. ``reader_can_read(reader, writer)`` is the
rule engine (:mod:`edn_core.compatibility.rules`): it reports every way a document valid under
``writer`` may be rejected by ``reader``, comparing the two schemas location by location. A
location where both schemas are identical (annotations such as ``title``/``description``/
``default``/``examples``/``$comment``/``x-*`` ignored) is always compatible, and so is any
location where the reader is ``true``/``{}`` or the writer is ``false``.

Rules ("reader" is the new schema for BACKWARD, the old one for FORWARD):

===============================  ==============================================================
rule id                          incompatible when
===============================  ==============================================================
required-added                   the reader requires a property the writer does not require.
                                 Adding a required property breaks BACKWARD; adding an optional
                                 one does not.
property-not-allowed             the writer may send a property (declared in its
                                 ``properties``, or allowed by its ``additionalProperties``
                                 true/schema) that the reader forbids (``additionalProperties:
                                 false`` without declaring it, or declared ``false``). So with a
                                 closed model, removing an optional property breaks BACKWARD
                                 and adding one breaks FORWARD.
open-content-unconstrained       the reader declares a property with a constraining schema,
                                 the writer does not declare it and is open: it has
                                 ``additionalProperties: true``, or no ``properties`` and no
                                 ``additionalProperties`` (a free-form object), so it may send
                                 anything there.
                                 Policy: a writer that declares ``properties`` but has no
                                 ``additionalProperties`` keyword is assumed to send only the
                                 properties it declares. Adding or removing an optional property
                                 of such an implicitly open model is therefore allowed (as
                                 Avro and Protobuf allow it), and re-adding a removed property
                                 with another type is caught only by the ``*_TRANSITIVE`` modes.
                                 Strict JSON Schema reading (absent = ``true``, as Confluent
                                 does) would reject both, and no change could then pass step
                                 by step yet fail transitively.
additional-properties-tightened  for property names neither schema declares, the writer allows
                                 them (``additionalProperties`` absent, ``true`` or a schema)
                                 and the reader has ``additionalProperties: false``. When both
                                 are schemas they are compared like any other location.
type-narrowed                    the writer may produce a JSON type the reader does not accept
                                 (absent ``type`` = every type; ``integer`` fits in
                                 ``number``, not the other way round; a writer ``enum``/
                                 ``const`` produces only the types of its values).
enum-narrowed                    the reader has ``enum``/``const`` and the writer has neither,
                                 or the writer allows a value outside the reader's set.
bounds-tightened                 a higher ``minimum``/``exclusiveMinimum``/``minLength``/
                                 ``minItems``/``minProperties``, a lower ``maximum``/
                                 ``exclusiveMaximum``/``maxLength``/``maxItems``/
                                 ``maxProperties``, a ``multipleOf`` the writer's does not
                                 divide into, or ``uniqueItems`` added.
pattern-changed                  the reader has a ``pattern`` and the writer has none or another.
format-changed                   the reader has a ``format`` and the writer has none or another
                                 (``format`` is treated as an assertion).
false-schema                     the reader is ``false`` at a location where the writer is not.
unsupported-keyword              a keyword the checker does not reason about (``$ref``,
                                 ``allOf``/``anyOf``/``oneOf``/``not``, ``if``/``then``/
                                 ``else``, ``dependentSchemas``, ``dependentRequired``,
                                 ``propertyNames``, ``contains``..., and any unknown keyword) is
                                 in the reader and not identical in the writer; or
                                 ``patternProperties``/``prefixItems``/``unevaluated*`` is in
                                 either schema at a location that differs (they change what the
                                 sibling keywords mean, so nothing there is compared).
===============================  ==============================================================

Nested ``properties``, ``additionalProperties`` schemas and ``items`` are compared recursively;
``path`` is a JSON pointer into the schema naming the keyword or property at fault, e.g.
``/properties/shippingAddress/properties/city`` or ``/properties/items/items/minItems``.
Type-specific keywords are compared only for the types the writer can produce and the reader
accepts (a ``maxLength`` is irrelevant to an integer).

Limitations, all on the safe side (they can only report a change that is in fact compatible),
except the documented ``open-content-unconstrained`` policy above:

* A keyword only the *writer* has and the checker does not understand (``allOf``, ``$ref``,
  ``if``...) is ignored: it can only narrow what the writer produces.
* ``$ref`` is compared textually; ``$defs`` are compared only when the reader uses ``$ref``.
  ``$id``/``$anchor`` are ignored. Exclusive bounds are not converted for integers
  (``exclusiveMinimum: 0`` vs ``minimum: 1`` is reported), and a writer ``enum`` is not
  checked against the reader's bounds or patterns, only against its ``enum``/``type``.
* Schemas are assumed to be valid draft 2020-12 documents (array-form ``items`` is reported as
  unsupported unless identical).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .rules import compare


class Mode(StrEnum):
    """Confluent Schema Registry compatibility levels."""

    NONE = "NONE"
    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"


@dataclass(frozen=True)
class Incompatibility:
    """One reason a schema cannot be registered (or read) under a compatibility mode."""

    path: str  # JSON pointer into the schema, e.g. "/properties/shippingAddress/properties/city"
    rule: str  # stable rule id, see the module docstring, e.g. "required-added"
    message: str  # sentence naming the direction, path and rule
    direction: str  # "backward" (reader = newer schema) or "forward" (reader = older schema)


_DIRECTIONS = {
    Mode.NONE: (),
    Mode.BACKWARD: ("backward",),
    Mode.BACKWARD_TRANSITIVE: ("backward",),
    Mode.FORWARD: ("forward",),
    Mode.FORWARD_TRANSITIVE: ("forward",),
    Mode.FULL: ("backward", "forward"),
    Mode.FULL_TRANSITIVE: ("backward", "forward"),
}
_TRANSITIVE = {Mode.BACKWARD_TRANSITIVE, Mode.FORWARD_TRANSITIVE, Mode.FULL_TRANSITIVE}


def check(
    new: dict, existing: list[dict], mode: Mode, numbers: list[int] | None = None
) -> list[Incompatibility]:
    """Why ``new`` may not follow ``existing`` (registered versions, oldest first) under ``mode``.

    An empty list means compatible. Non-transitive modes compare with ``existing[-1]`` only,
    transitive ones with every version; messages say which version: its number in ``numbers``
    (the registered version numbers of ``existing``), or its place counted from 1.
    """
    mode = Mode(mode)
    versions = list(zip(numbers or range(1, len(existing) + 1), existing, strict=True))
    if mode not in _TRANSITIVE:
        versions = versions[-1:]
    found: list[Incompatibility] = []
    for number, old in versions:
        for direction in _DIRECTIONS[mode]:
            reader, writer = (new, old) if direction == "backward" else (old, new)
            found += _compare(reader, writer, direction, f"version {number}")
    return found


def reader_can_read(reader: dict, writer: dict) -> list[Incompatibility]:
    """Why consumers using ``reader`` may reject documents valid under ``writer``.

    An empty list means every document the writer accepts, the reader accepts too. This is the
    BACKWARD check with ``reader`` as the new schema, so results say ``direction="backward"``;
    ``check`` swaps the arguments for FORWARD.
    """
    return _compare(reader, writer, "backward", None)


_LABELS = {"backward": ("new", "old"), "forward": ("old", "new")}


def _compare(
    reader: dict, writer: dict, direction: str, against: str | None
) -> list[Incompatibility]:
    reader_label, writer_label = _LABELS[direction] if against else ("reader", "writer")
    prefix = direction.upper() + (f" vs {against}" if against else "")
    return [
        Incompatibility(
            path=finding.path,
            rule=finding.rule,
            message=f"{prefix}: {finding.path or '/'} [{finding.rule}]: {finding.detail}",
            direction=direction,
        )
        for finding in compare(reader, writer, reader_label, writer_label)
    ]
