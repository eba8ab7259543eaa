"""Replay of recorded create-order histories (tests/sagas/histories) on definitions in memory:
the current one replays clean, changed ones are reported at their first diverging input."""

import dataclasses
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from order_saga.sagas import create_order
from sagas import definition as registry
from sagas.replay import replay
from tests.sagas.changed import shorter_rejection_reason, stock_before_credit

HISTORIES = Path(__file__).parent / "histories"
RECORDINGS = {p.stem: json.loads(p.read_text()) for p in sorted(HISTORIES.glob("*.json"))}


def test_the_recorded_histories_cover_success_each_failure_timeout_and_operators():
    """Proves: the fixtures hold a success, each refusal, a timeout, a cancel and a retry."""
    assert {
        "create-order-success", "create-order-credit-refused", "create-order-stock-refused",
        "create-order-confirm-failed", "create-order-timeout", "create-order-cancelled",
        "create-order-compensation-retried",
    } <= set(RECORDINGS)  # fmt: skip
    kinds = {e["kind"] for r in RECORDINGS.values() for e in r["history"]}
    assert kinds == {"start", "reply", "timeout", "cancel", "retry"}


def test_the_current_definition_replays_every_recorded_history_clean():
    """Proves: `edn_sagas replay --from` the fixtures reports no saga and exits 0 (CI's check
    that the create-order definition still decides as it did)."""
    out = io.StringIO()
    call_command("edn_sagas", "replay", "--from", str(HISTORIES), stdout=out)
    assert f"no saga would decide otherwise: {len(RECORDINGS)} replayed the same" in out.getvalue()


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_a_changed_step_order_diverges_at_the_first_step_it_changes(name):
    """Proves: with credit and stock swapped, every history diverges at its start, naming
    the step it recorded and the command the new order would send instead."""
    found = replay(RECORDINGS[name], stock_before_credit())
    assert found is not None and (found.index, found.input) == (0, "start v1.OrderPlaced")
    assert found.step == "ReserveCustomerCredit"
    assert "sent v1.CustomerCreditReserveRequested" in found.recorded
    assert "sent v1.InventoryReserveRequested" in found.replayed
    assert "step ReserveProductInventory" in found.replayed


def test_a_changed_compensation_payload_diverges_only_where_an_order_is_rejected():
    """Proves: payloads are compared -- a shorter rejection reason changes every saga that
    compensates at the input that sends the rejection, and no saga that succeeded."""
    changed = shorter_rejection_reason()
    assert replay(RECORDINGS["create-order-success"], changed) is None
    found = replay(RECORDINGS["create-order-stock-refused"], changed)
    assert found is not None and found.input == "reply v1.CustomerCreditReleased"
    assert found.step == "CreateOrder" and "v1.OrderRejectRequested" in found.replayed


def test_a_longer_timeout_reports_that_the_recorded_timeout_would_not_fire():
    """Proves: the recorded times are the replay's clock: with a longer step timeout the
    recorded timeout is not due yet, and replay says so at that input."""
    changed = dataclasses.replace(create_order, default_timeout=timedelta(days=1))
    found = replay(RECORDINGS["create-order-timeout"], changed)
    assert found is not None and found.input == "timeout"
    assert "timeout not due" in found.replayed and found.step == "ReserveProductInventory"


def test_replay_uses_the_version_a_saga_started_on_unless_told_the_latest(monkeypatch):
    """Proves: with a changed v2 registered beside v1, the v1 histories replay clean on v1;
    `--against-latest` replays them on v2, lists each divergence and exits non-zero."""
    monkeypatch.setitem(registry._DEFINITIONS, ("CreateOrder", 2), stock_before_credit(2))
    call_command("edn_sagas", "replay", "--from", str(HISTORIES), stdout=io.StringIO())
    out = io.StringIO()
    with pytest.raises(CommandError, match=f"{len(RECORDINGS)} saga\\(s\\) would decide"):
        call_command(
            "edn_sagas", "replay", "--from", str(HISTORIES), "--against-latest", stdout=out
        )
    assert out.getvalue().count("CreateOrder v2 saga") == len(RECORDINGS)
    assert "input 1 (start v1.OrderPlaced) at step ReserveCustomerCredit" in out.getvalue()
