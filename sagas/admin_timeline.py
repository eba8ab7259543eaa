"""The saga admin's timeline: every action and compensation that started, one row each, in
the order they started, with how long it took and what it sent and received.

Phases that started at the same instant (a step with nothing to send is done at once) keep
the order the saga ran them in: actions first step first, compensations last step first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from edn_core.admin import duration, local_time

# What each phase state is called on the page, and its colour (edn_core.admin.badge tones)
LABELS = {
    "Succeeded": ("Succeeded", "ok"),
    "Failed": ("Failed", "bad"),
    "TimedOut": ("Timed out", "bad"),
    "Executing": ("Waiting for a reply", "busy"),
}


@dataclass(frozen=True)
class Message:
    direction: str  # sent or received
    topic: str
    ignored: bool  # a late or unexpected reply, kept for the record
    at: str
    json: str


@dataclass(frozen=True)
class Row:
    number: int
    step: str
    phase: str  # action or compensation
    label: str
    tone: str
    started_iso: str
    started: str  # local time, to the second
    started_title: str  # local date and time, to the millisecond
    offset: str  # since the saga's first phase started
    took: str
    reason: str  # a failure's reason, from the reply that refused
    messages: tuple[Message, ...]

    @property
    def failed(self) -> bool:
        return self.tone == "bad"


def timeline(steps: list[dict], now: datetime | None = None) -> list[Row]:
    """Return the rows of the phases that started in ``steps`` (the stored timeline)."""
    now = now or timezone.now()
    started = []
    for index, step in enumerate(steps):
        for kind in ("action", "compensation"):
            phase = step[kind]
            if phase["state"] != "NotStarted" and phase.get("startedAt"):
                at = datetime.fromisoformat(phase["startedAt"])
                started.append(((at, kind == "compensation", _ran(index, kind)), step, kind))
    started.sort(key=lambda entry: entry[0])
    first = started[0][0][0] if started else now
    return [
        _row(number, step["name"], kind, step[kind], first, now)
        for number, (_, step, kind) in enumerate(started, start=1)
    ]


def _ran(index: int, kind: str) -> int:
    return index if kind == "action" else -index


def _row(number: int, step: str, kind: str, phase: dict, first: datetime, now: datetime) -> Row:
    at = datetime.fromisoformat(phase["startedAt"])
    end = datetime.fromisoformat(phase["endedAt"]) if phase.get("endedAt") else None
    label, tone = LABELS.get(phase["state"], (phase["state"], "idle"))
    took = duration(_ms(end - at)) if end else f"{duration(_ms(now - at))} so far"
    return Row(
        number=number,
        step=step,
        phase=kind,
        label=label,
        tone=tone,
        started_iso=phase["startedAt"],
        started=local_time(at, date=_day(at) != _day(first)),
        started_title=timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        + f" {timezone.get_current_timezone_name()}",
        offset=f"+{duration(_ms(at - first))}",
        took=took,
        reason=_refusal(phase) if tone == "bad" else "",
        messages=tuple(_messages(phase)),
    )


def _day(moment: datetime):
    return timezone.localtime(moment).date()


def _ms(delta) -> float:
    return max(delta.total_seconds() * 1000, 0.0)


def _refusal(phase: dict) -> str:
    replies = [m for m in phase["received"] if not m.get("ignored")]
    return str(replies[-1]["data"].get("reason") or "") if replies else ""


def _messages(phase: dict):
    notes = [("sent", m) for m in phase["sent"]] + [("received", m) for m in phase["received"]]
    for direction, note in sorted(notes, key=lambda n: n[1].get("at") or ""):
        yield Message(
            direction=direction,
            topic=note["topic"],
            ignored=bool(note.get("ignored")),
            at=local_time(note.get("at"), date=False),
            json=json.dumps(note["data"], indent=2, ensure_ascii=False),
        )
