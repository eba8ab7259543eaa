"""Integration events as CloudEvents 1.0 structured JSON."""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from edn_core import tracing
from edn_core.domain import DomainEvent
from edn_core.events import IntegrationEvent, InvalidEnvelope, Publication, publishes

TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def event(**overrides) -> IntegrationEvent:
    fields = dict(
        id=str(uuid.uuid4()),
        topic="v1.ThingHappened",
        source="/things",
        time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        aggregate_id="agg-1",
        sequence=7,
        correlation_id="corr-1",
        causation_id="cause-1",
        traceparent=TRACE,
        data={"a": 1, "nested": {"b": [1, 2]}},
    )
    fields.update(overrides)
    return IntegrationEvent(**fields)


def test_envelope_is_structured_cloudevent_with_our_extensions():
    envelope = json.loads(event().to_json())
    assert envelope["specversion"] == "1.0"
    assert envelope["type"] == "v1.ThingHappened"
    assert envelope["datacontenttype"] == "application/json"
    assert envelope["time"] == "2026-01-02T03:04:05Z"
    assert envelope["subject"] == envelope["partitionkey"] == "agg-1"
    assert envelope["sequence"] == "7"
    assert envelope["traceparent"] == TRACE
    assert (envelope["correlationid"], envelope["causationid"]) == ("corr-1", "cause-1")
    assert envelope["data"] == {"a": 1, "nested": {"b": [1, 2]}}


def test_envelope_round_trips():
    original = event()
    assert IntegrationEvent.from_json(original.to_json()) == original
    assert IntegrationEvent.from_json(original.to_json().encode()) == original


@pytest.mark.parametrize(
    "mutate",
    [
        lambda e: e.pop("id"),
        lambda e: e.pop("source"),
        lambda e: e.update(specversion="0.1"),
        lambda e: e.update(type="CustomerMoved"),  # not a versioned topic
        lambda e: e.pop("subject"),
        lambda e: e.update(sequence="seven"),
        lambda e: e.update(data=[1, 2]),
        lambda e: e.update(time="yesterday"),
        lambda e: e.update({"Bad-Ext": 1}),
    ],
)
def test_invalid_envelopes_are_refused(mutate):
    envelope = json.loads(event().to_json())
    mutate(envelope)
    with pytest.raises(InvalidEnvelope):
        IntegrationEvent.from_json(json.dumps(envelope))


@pytest.mark.parametrize("raw", ["", "not json", "[]", "null", b"\xff"])
def test_garbage_is_an_invalid_envelope(raw):
    with pytest.raises(InvalidEnvelope):
        IntegrationEvent.from_json(raw)


@pytest.mark.parametrize("topic", ["CustomerMoved", "v0.Thing", "v1.thing", "v1.", "1.Thing"])
def test_topics_carry_a_version_prefix(topic):
    with pytest.raises(ValueError):
        publishes(DomainEvent, topic=topic)


@dataclass(frozen=True, kw_only=True)
class Moved(DomainEvent):
    to: str


def test_publication_carries_the_active_message_context(settings):
    settings.EDN_SCHEMA_VALIDATION = False  # unit test of the envelope; no registry here
    publication = Publication("v1.Moved", lambda e: {"to": e.to, "id": e.aggregate_id})
    aggregate = uuid.uuid4()
    context = tracing.MessageContext("corr-9", "cause-9", TRACE)
    with tracing.using(context):
        built = publication.build("things", Moved(aggregate_id=aggregate, to="x"), 3)
    assert (built.correlation_id, built.causation_id, built.traceparent) == (
        "corr-9",
        "cause-9",
        TRACE,
    )
    assert built.data == {"to": "x", "id": str(aggregate)}  # UUIDs become JSON strings
    assert (built.aggregate_id, built.sequence, built.source) == (str(aggregate), 3, "/things")


def test_child_traceparent_keeps_the_trace_and_makes_a_new_span():
    child = tracing.child_traceparent(TRACE)
    assert tracing.trace_id(child) == tracing.trace_id(TRACE)
    assert child != TRACE
    assert tracing.trace_id(tracing.child_traceparent("garbage")) is not None
