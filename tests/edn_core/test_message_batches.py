"""CloudEvents batched mode: how the Celery transport packs outbox rows into broker messages
and how a received message is read back into events (no database, no broker)."""

import json
import uuid

import pytest

from edn_core.bus.relay import PendingMessage
from edn_core.bus.transports import celery as transport
from edn_core.envelope import IntegrationEvent, InvalidEnvelope, read_message, source_text
from tests.edn_core.test_events import event


def row(topic="v1.ThingHappened", n=0, size=0) -> PendingMessage:
    envelope = event(topic=topic, sequence=n + 1, data={"n": n, "pad": "x" * size}).to_json()
    return PendingMessage(n, uuid.uuid4(), topic, "agg-1", envelope, 0)


def test_consecutive_rows_of_a_topic_share_a_message_up_to_the_limit():
    rows = [row(n=n) for n in range(5)] + [row("v1.OtherThing", n=5)] + [row(n=6)]
    packed = transport.pack(rows, limit=2)
    assert [(m.topic, m.count) for m in packed] == [
        ("v1.ThingHappened", 2),
        ("v1.ThingHappened", 2),
        ("v1.ThingHappened", 1),
        ("v1.OtherThing", 1),
        ("v1.ThingHappened", 1),
    ]
    assert json.loads(packed[0].body) == [json.loads(r.envelope) for r in rows[:2]]
    assert packed[2].body == rows[4].envelope  # a run of one stays a structured event
    assert packed[0].message_id == str(rows[0].event_id)
    unpacked = [e for m in packed for _, e in read_message(m.body)]
    assert [e.sequence for e in unpacked] == [1, 2, 3, 4, 5, 6, 7]  # order kept


def test_a_message_stays_under_the_byte_limit(monkeypatch):
    monkeypatch.setattr(transport, "MAX_BATCH_BYTES", 5000)
    packed = transport.pack([row(n=n, size=2000) for n in range(5)], limit=100)
    assert [m.count for m in packed] == [2, 2, 1]
    assert all(len(m.body) < 5000 for m in packed)


def test_limit_one_is_one_structured_event_per_message():
    rows = [row(n=n) for n in range(3)]
    assert [m.body for m in transport.pack(rows, limit=1)] == [r.envelope for r in rows]


def test_a_batch_reads_back_event_by_event_with_invalid_ones_singled_out():
    good, bad = json.loads(event().to_json()), json.loads(event().to_json())
    del bad["time"]
    read = read_message(json.dumps([good, bad, "text"]).encode())
    assert isinstance(read[0][1], IntegrationEvent) and read[0][1].id == good["id"]
    assert isinstance(read[1][1], InvalidEnvelope) and isinstance(read[2][1], InvalidEnvelope)
    assert json.loads(source_text(read[1][0])) == bad  # what a dead letter keeps


@pytest.mark.parametrize("raw", ["not json", b"\xff\xfe", "null", "7"])
def test_a_message_that_is_neither_an_event_nor_a_batch_is_one_invalid_entry(raw):
    ((source, outcome),) = read_message(raw)
    assert isinstance(outcome, InvalidEnvelope) and isinstance(source, str)


def test_a_structured_event_reads_as_one_entry_with_its_text():
    text = event().to_json()
    ((source, outcome),) = read_message(text)
    assert source == text and outcome == IntegrationEvent.from_json(text)


def test_an_empty_batch_has_no_events():
    assert read_message("[]") == []
