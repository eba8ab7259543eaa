"""Hypothesis strategies for the consume-side fuzzer (tests/edn_core/test_fuzz_consume.py).

A *good* event is a structured CloudEvent of ``TOPIC`` that the platform must deliver: its
attributes and data vary over everything the rules allow (ids up to 100 characters, sequences
up to 2**63-1, unknown extensions, any text without control characters, optional
``dataschema``). A *bad* event is a good one with one thing wrong, each a way an event can be
refused (docs/fuzzing.md lists them). A *redelivery* repeats a good event's id with other data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

TOPIC = "v1.FuzzProbed"
SCHEMA = {
    "type": "object",
    "properties": {"n": {"type": "integer"}, "note": {"type": "string"}},
    "required": ["n"],
    "additionalProperties": False,
}
REFERENCE = f"urn:edn:schema:{TOPIC}:1:1"  # version 1: the fixture registers the schema once
MAX_SEQUENCE = 2**63 - 1
CORE = ("id", "source", "type", "specversion", "time", "subject", "sequence")
NOT_JSON = (float("nan"), float("inf"), float("-inf"))
BAD_IN_DATA = ("\x00", "\ud800", "a\udfffb")

attribute_text = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=30)
data_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))
times = st.sampled_from(
    [
        "2026-01-02T03:04:05Z",
        "2026-01-02T03:04:05.123456789+05:30",
        "1999-12-31t23:59:59z",
        "2026-06-30T12:00:00-08:00",
    ]
)
traceparents = st.one_of(
    st.builds(
        lambda trace, span: f"00-{trace:032x}-{span:016x}-01",
        st.integers(1, 2**128 - 1),
        st.integers(1, 2**64 - 1),
    ),
    attribute_text,
)
extension_names = st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True).filter(
    lambda name: (
        name not in {*CORE, "data", "datacontenttype", "dataschema", "sequence"}
        and name not in {"partitionkey", "correlationid", "causationid", "traceparent"}
    )
)
extension_values = st.one_of(attribute_text, st.booleans(), st.integers(-(2**31), 2**31 - 1))
finite = st.floats(allow_nan=False, allow_infinity=False)  # JSON has no NaN or Infinity
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), finite, st.text(max_size=10))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def good_events(draw) -> dict:
    subject = str(draw(st.uuids()))
    event = {
        "id": (str(draw(st.uuids())) + draw(attribute_text))[:100],
        "source": draw(st.sampled_from(["/customers", "urn:fuzz", "https://x.example/a b"])),
        "type": TOPIC,
        "specversion": "1.0",
        "time": draw(times),
        "subject": subject,
        "sequence": draw(st.integers(0, MAX_SEQUENCE)),
        "partitionkey": subject,
        "correlationid": draw(attribute_text),
        "traceparent": draw(traceparents),
        "data": {"n": draw(st.integers()), "note": draw(data_text)},
    }
    optional = {
        "causationid": attribute_text,
        "dataschema": st.just(REFERENCE),
        "datacontenttype": st.sampled_from(["application/json", "text/json; charset=utf-8"]),
    }
    if draw(st.booleans()):  # the sequence extension's string form, as we publish it
        event["sequence"] = str(event["sequence"])
    for name, values in optional.items():
        if draw(st.booleans()):
            event[name] = draw(values)
    event.update(draw(st.dictionaries(extension_names, extension_values, max_size=3)))
    return event


def _set(name, values):
    return lambda event, draw: {**event, name: draw(values)}


def _without(event, draw):
    name = draw(st.sampled_from([*CORE, "data"]))
    return {k: v for k, v in event.items() if k != name}


def _deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _with_character(event, draw):
    name = draw(st.sampled_from(["id", "source", "subject", "correlationid", "traceparent"]))
    bad = draw(st.sampled_from(["\x00", "\n", "\x1f", "\x7f", "\x85", "\ud800", "\udfff"]))
    return {**event, name: event[name] + bad}


not_strings = st.one_of(st.integers(), st.booleans(), finite, st.lists(st.integers(), max_size=2))
MUTATIONS = {
    "specversion": _set("specversion", st.sampled_from(["0.3", "1", "2.0", "", 1.0, True])),
    "missing": _without,
    "null": lambda e, d: {**e, d(st.sampled_from(CORE)): None},
    "not a string": lambda e, d: {**e, d(st.sampled_from(CORE[:6])): d(not_strings)},
    "type": _set(
        "type",
        st.sampled_from(["CustomerMoved", "v0.FuzzProbed", "v1.fuzzProbed", f"{TOPIC}\n", "V1.X"]),
    ),
    "unknown topic": _set("type", st.sampled_from(["v1.NobodyListens", "v2.FuzzProbed"])),
    "time": _set(
        "time",
        st.one_of(
            st.sampled_from(
                ["yesterday", "2026-01-02", "2026-01-02T03:04:05", "2026-13-01T00:00Z"]
            ),
            st.text(max_size=12),
        ),
    ),
    "data not an object": _set("data", st.one_of(json_scalars, st.lists(json_scalars))),
    "data_base64": lambda e, d: {
        **{k: v for k, v in e.items() if k != "data"},
        "data_base64": "eyJuIjogMX0=",
    },
    "data against the schema": _set(
        "data",
        st.sampled_from([{}, {"n": "1"}, {"n": 1.5}, {"n": 1, "extra": True}, {"note": "x"}]),
    ),
    # deep, yet well within what Python parses (a deeper message is unreadable as a whole)
    "data deep": lambda e, d: {**e, "data": {"n": _deep(d(st.sampled_from([50, 300, 600])))}},
    "data NUL or surrogate": _set(
        "data", st.sampled_from([{"n": 1, "note": "\x00"}, {"n": 1, "note": "\ud800"}])
    ),
    "dataschema": _set(
        "dataschema",
        st.sampled_from(
            [
                "urn:edn:schema:v1.CustomerAddressUpdated:1:1",  # another subject
                f"urn:edn:schema:{TOPIC}:99:1",  # an unknown version
                f"urn:edn:schema:{TOPIC}:{10**30}:1",  # beyond any integer column
                f"urn:edn:schema:{TOPIC}:\u00b2:1",  # a digit to str.isdigit only
                "urn:edn:schema:garbage",
                "",
                17,
            ]
        ),
    ),
    "datacontenttype": _set(
        "datacontenttype", st.sampled_from(["text/plain", "application/xml", "", 5, "json"])
    ),
    "sequence": _set(
        "sequence",
        st.sampled_from(
            [-1, 2**63, 10**30, "-1", "1.5", "abc", " 1", "\u0661", 1.0, True, [], str(2**63)]
        ),
    ),
    "extension": lambda e, d: {
        **e,
        **d(
            st.sampled_from(
                [
                    {"Bad_Name": "x"},
                    {"correlationid": {"a": 1}},
                    {"traceparent": ["00"]},
                    {"causationid": 5},
                    {"partitionkey": True},
                    {"custom": 1.5},
                    {"custom": 2**40},
                    {"custom": {"a": 1}},
                ]
            )
        ),
    },
    "character": _with_character,
    "too long": lambda e, d: {
        **e,
        **d(st.sampled_from([{"id": e["id"] + "x" * 101}, {"subject": "s" * 101}])),
        "type": d(st.sampled_from([TOPIC, "v1.A" + "b" * 200])),
    },
}


@st.composite
def bad_events(draw) -> dict:
    event = draw(good_events())
    mutate = MUTATIONS[draw(st.sampled_from(sorted(MUTATIONS)))]
    return mutate(event, draw)


class Ids:
    """The ids (and subjects) an example has used. Dead letters are kept per (consumer, event
    id), so two bad events with one id would share a row: each event gets an id of its own
    unless it is meant as a redelivery."""

    def __init__(self) -> None:
        self.used: set[str] = set()
        self.good: list[dict] = []

    def fresh(self, value: str) -> str:
        while value in self.used:
            value = f"{len(self.used)}~{value}"[: max(100, len(value))]
        self.used.add(value)
        return value

    def own(self, element: Any, *, good: bool = False) -> Any:
        if not isinstance(element, dict):
            return element
        element = dict(element)
        if isinstance(element.get("id"), str):
            element["id"] = self.fresh(element["id"])
        if good:
            element["subject"] = element["partitionkey"] = self.fresh(element["subject"])
            self.good.append(element)
        return element


@dataclass
class Message:
    """A body to deliver and, in order, what it holds: ``(kind, element)`` with kind "good"
    (must be applied once), "again" (a redelivery: no second effect), "bad" (must be
    dead-lettered) or "noise" (the body is not an event; what the consumer makes of it is
    dead-lettered, see :func:`dead_letters_of`)."""

    kind: str  # good, bad, noise or batch
    body: bytes
    items: list[tuple[str, Any]] = field(default_factory=list)

    def of(self, kind: str) -> list:
        return [element for k, element in self.items if k == kind]


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()


@st.composite
def messages(draw, ids: Ids) -> Message:
    """One broker message: a structured event, a batch mixing every kind, or noise."""
    kind = draw(st.sampled_from(["good", "bad", "batch", "bytes", "json", "deep", "not json"]))
    if kind in ("good", "bad"):
        event = ids.own(
            draw(good_events() if kind == "good" else bad_events()), good=kind == "good"
        )
        return Message(kind, encode(event), [(kind, event)])
    if kind == "batch":
        return draw(batches(ids))
    if kind == "bytes":
        body = draw(st.binary(max_size=64))
    elif kind == "json":
        body = encode(ids.own(draw(json_values)))
    elif kind == "deep":  # beyond the depth Python's JSON parser takes
        depth = draw(st.sampled_from([3000, 20000]))
        body = b"[" * depth + b"]" * depth
    else:  # what Python's json module writes for floats JSON cannot hold
        good = draw(good_events())
        body = encode([good, {**good, "data": {"n": draw(st.sampled_from(NOT_JSON))}}])
    return Message("noise", body, [("noise", body)])


@st.composite
def batches(draw, ids: Ids) -> Message:
    """A batched-mode message: good events, bad ones, noise, nested batches, redeliveries of
    good events delivered before (same id, other data); maybe empty."""
    items: list[tuple[str, Any]] = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["good", "bad", "noise", "nested", "again"]))
        if kind == "good":
            items.append(("good", ids.own(draw(good_events()), good=True)))
        elif kind == "again" and ids.good:
            items.append(("again", {**draw(st.sampled_from(ids.good)), "data": {"n": -1}}))
        elif kind == "nested":
            items.append(("bad", [draw(good_events())]))
        elif kind == "bad":
            items.append(("bad", ids.own(draw(bad_events()))))
        else:
            items.append(("bad", ids.own(draw(json_values))))
    return Message("batch", encode([element for _, element in items]), items)


@st.composite
def scenarios(draw, max_messages: int = 4) -> list[Message]:
    """Messages delivered one after another (later ones may redeliver earlier events)."""
    ids = Ids()
    return [draw(messages(ids)) for _ in range(draw(st.integers(1, max_messages)))]
