"""Every input of a saga lands in its saved history, and saga definitions are versioned: a
saga runs on the version it started with while new ones start on the newest."""

import io
import json
import uuid
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from edn_core.cqrs import send
from edn_core.domain import InvalidState
from order_saga.sagas import create_order
from sagas import definition as registry
from sagas.commands import (
    CancelSaga,
    ExpireOverdueSteps,
    HandleReplies,
    RetryCompensation,
    StartSagas,
)
from sagas.domain import Saga
from sagas.history import ROW_FIELDS, recording_of
from sagas.models import OutboxMessage, SagaRecord
from sagas.replay import replay
from sagas.states import SagaState
from tests.sagas.changed import order_data, stock_before_credit

HISTORIES = Path(__file__).parent / "histories"
pytestmark = pytest.mark.django_db(databases="__all__")


def start(data: dict) -> SagaRecord:
    send(StartSagas(saga_type="CreateOrder", datas=[data])).value_or_raise()
    return SagaRecord.objects.get(key=data["orderId"])


def reply(row: SagaRecord, topic: str, data: dict | None = None) -> None:
    replies = [(row.id, topic, data or {}, str(uuid.uuid4()))]
    send(HandleReplies(replies=replies)).value_or_raise()


def sent_topics(row: SagaRecord) -> list[str]:
    rows = OutboxMessage.objects.filter(aggregate_id=str(row.id)).order_by("sequence")
    return list(rows.values_list("topic", flat=True))


def test_every_input_path_saves_its_entry_and_the_row_replays_clean():
    """Proves: the start, a reply, a reply nobody waits for, the sweeper's timeouts, an
    operator's retry and cancel each append one entry in the save of their change -- the
    history of the row alone replays the saga to the same decisions."""
    row = start(order_data())
    reply(row, "v1.CustomerCreditReserved")
    reply(row, "v1.CustomerCreditReserved")  # a duplicate: ignored, and noted
    row.refresh_from_db()
    send(ExpireOverdueSteps(now=row.deadline)).value_or_raise()  # inventory: compensate
    row.refresh_from_db()
    send(ExpireOverdueSteps(now=row.deadline)).value_or_raise()  # its release: attention
    send(RetryCompensation(saga_id=row.id)).value_or_raise()
    send(CancelSaga(saga_id=row.id, reason="given up")).value_or_raise()
    row.refresh_from_db()
    kinds = [(e["kind"], e["topic"], e.get("ignored")) for e in row.history]
    assert kinds == [
        ("start", "v1.OrderPlaced", None),
        ("reply", "v1.CustomerCreditReserved", False),
        ("reply", "v1.CustomerCreditReserved", True),
        ("timeout", None, None),
        ("timeout", None, None),
        ("retry", None, None),
        ("cancel", None, None),
    ]
    assert row.history[-1]["data"] == {"reason": "given up"}
    assert [m["topic"] for e in row.history for m in e["sent"]] == sent_topics(row)
    (values,) = SagaRecord.objects.filter(pk=row.id).values(*ROW_FIELDS)
    assert replay(recording_of(values), registry.definition("CreateOrder")) is None


def test_a_refused_operator_action_records_nothing():
    """Proves: a cancel the saga refuses (it is no longer waiting) leaves no entry."""
    saga = Saga.start(uuid.uuid4(), create_order, order_data(), timezone.now())
    saga.state = SagaState.EXECUTED
    with pytest.raises(InvalidState):
        saga.cancel("late", timezone.now())
    assert [e["kind"] for e in saga.history] == ["start"]


def test_in_flight_sagas_finish_on_their_version_while_new_ones_start_on_the_newest(
    monkeypatch,
):
    """Proves: after v2 (stock before credit) is registered, a saga started on v1 goes on
    with v1's next step (stock after credit), a new saga starts on v2 and stores it."""
    old = start(order_data())
    monkeypatch.setitem(registry._DEFINITIONS, ("CreateOrder", 2), stock_before_credit(2))
    new = start(order_data())
    reply(old, "v1.CustomerCreditReserved")
    old.refresh_from_db()
    assert (old.definition_version, new.definition_version) == (1, 2)
    assert sent_topics(old) == ["v1.CustomerCreditReserveRequested", "v1.InventoryReserveRequested"]
    assert sent_topics(new) == ["v1.InventoryReserveRequested"]


def test_replay_reads_the_database_by_type_and_since_and_fails_on_a_divergence(
    monkeypatch, tmp_path
):
    """Proves: `edn_sagas replay --type --since` replays saved sagas clean on their own
    version; on `--against-latest` with a changed v2 it names the saga and exits non-zero;
    `export` writes one recording per saga."""
    row = start(order_data())
    out = io.StringIO()
    call_command("edn_sagas", "replay", "--type", "CreateOrder", "--since", "PT1H", stdout=out)
    assert "1 replayed the same, 0 skipped" in out.getvalue()
    monkeypatch.setitem(registry._DEFINITIONS, ("CreateOrder", 2), stock_before_credit(2))
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 saga"):
        call_command("edn_sagas", "replay", "--against-latest", stdout=out)
    assert f"CreateOrder v2 saga {row.id}: input 1" in out.getvalue()
    none = io.StringIO()
    call_command("edn_sagas", "replay", "--since", "2999-01-01T00:00Z", stdout=none)
    assert "replaying 0 saga(s)" in none.getvalue()
    call_command("edn_sagas", "export", "--out", str(tmp_path), stdout=io.StringIO())
    (exported,) = tmp_path.glob("*.json")
    assert json.loads(exported.read_text())["id"] == str(row.id)
    call_command("edn_sagas", "replay", "--from", str(exported), stdout=io.StringIO())


def test_a_running_saga_whose_version_is_gone_is_reported_a_finished_one_skipped(tmp_path):
    """Proves: replay names a running saga of an unregistered version (it could not go on)
    and skips a finished one, or one without history."""
    recording = json.loads((HISTORIES / "create-order-success.json").read_text())
    gone = {**recording, "definitionVersion": 9}
    files = {
        "running": {**gone, "state": "Executing"},
        "done": gone,
        "old": {**recording, "history": []},
    }
    for name, content in files.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(content))
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"1 saga.*0 replayed the same, 2 skipped"):
        call_command("edn_sagas", "replay", "--from", str(tmp_path), stdout=out)
    assert "cannot go on: no saga definition named 'CreateOrder' version 9" in out.getvalue()
