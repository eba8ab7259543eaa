"""The saga admin's timeline rows (sagas/admin_timeline.py): in the order the phases started,
ties in the order the saga ran them; durations, failures and replies as shown."""

from datetime import UTC, datetime, timedelta

import pytest

from edn_core.admin import duration
from sagas.admin_timeline import timeline

T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def phase(state: str, start: float | None = None, end: float | None = None, **notes) -> dict:
    at = lambda ms: None if ms is None else (T0 + timedelta(milliseconds=ms)).isoformat()  # noqa: E731
    return {"state": state, "startedAt": at(start), "endedAt": at(end),
            "sent": notes.get("sent", []), "received": notes.get("received", [])}  # fmt: skip


def note(topic: str, ms: float, **data) -> dict:
    at = (T0 + timedelta(milliseconds=ms)).isoformat()
    return {"topic": topic, "id": topic, "at": at, "data": data}


def step(name: str, action: dict, compensation: dict | None = None) -> dict:
    return {"name": name, "action": action, "compensation": compensation or phase("NotStarted")}


def test_rows_follow_start_time_and_ties_the_order_the_saga_ran_them():
    refused = note("v1.Refused", 49, reason="none left")
    steps = [
        # no message to send: done at once, at the same instant as the next step's start
        step("Create", phase("Succeeded", 0, 0), phase("Succeeded", 50, 50)),
        step("Credit", phase("Succeeded", 0, 20), phase("Succeeded", 50, 50)),
        step("Stock", phase("Failed", 20, 50, received=[refused])),
        step("Ship", phase("NotStarted")),
    ]  # fmt: skip
    rows = timeline(steps, now=T0 + timedelta(seconds=1))
    assert [(r.number, r.step, r.phase, r.label) for r in rows] == [
        (1, "Create", "action", "Succeeded"),
        (2, "Credit", "action", "Succeeded"),
        (3, "Stock", "action", "Failed"),
        (4, "Credit", "compensation", "Succeeded"),  # compensations: last step first
        (5, "Create", "compensation", "Succeeded"),
    ]
    failed = rows[2]
    assert (failed.failed, failed.reason, failed.took, failed.offset) == (
        True, "none left", "30 ms", "+20 ms"
    )  # fmt: skip
    assert [r.failed for r in rows] == [False, False, True, False, False]


def test_a_waiting_phase_counts_its_time_so_far_and_its_messages_come_in_order():
    sent, late = note("v1.Asked", 0, n=1), {**note("v1.Answered", 5, n=2), "ignored": True}
    rows = timeline([step("Ask", phase("Executing", 0, received=[late], sent=[sent]))],
                    now=T0 + timedelta(seconds=90))  # fmt: skip
    (row,) = rows
    assert (row.label, row.tone, row.took) == ("Waiting for a reply", "busy", "1 min 30 s so far")
    assert [(m.direction, m.topic, m.ignored) for m in row.messages] == [
        ("sent", "v1.Asked", False),
        ("received", "v1.Answered", True),
    ]
    assert row.messages[0].json == '{\n  "n": 1\n}'


@pytest.mark.parametrize(
    ("ms", "shown"),
    [(0, "0.0 ms"), (0.44, "0.4 ms"), (27.4, "27 ms"), (999.4, "999 ms"), (999.6, "1.00 s"),
     (1254, "1.25 s"), (185_000, "3 min 5 s"), (7_800_000, "2 h 10 min"), (None, "")],
)  # fmt: skip
def test_durations_read_as_ms_s_min_or_h(ms, shown):
    assert duration(ms) == shown
