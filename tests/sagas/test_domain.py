"""The Saga aggregate's state machine and the definition API, without a database."""

import copy
import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from edn_core.domain import InvalidState
from order_saga.sagas import create_order
from sagas.definition import Request, SagaDefinition, Step
from sagas.domain import Saga
from sagas.states import MessageSent, SagaChanged, SagaState

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
DATA = {"thingId": "thing-1", "quantity": 2}


def facts_of(f) -> dict:
    """A build function that sends every fact it receives (so tests can see them)."""
    return dict(f)


# Reserve a thing (10 s), charge a payment (default 30 s), book a shipment (no compensation).
THING = SagaDefinition(
    "Thing",
    started_by="v1.ThingOrdered",
    key=lambda d: d["thingId"],
    steps=[
        Step(
            "Reserve",
            action=Request(
                "v1.ThingReserveRequested",
                facts_of,
                success="v1.ThingReserved",
                failure="v1.ThingReserveFailed",
            ),
            compensation=Request(
                "v1.ThingReleaseRequested",
                facts_of,
                success="v1.ThingReleased",
                failure="v1.ThingReleaseFailed",
            ),
            timeout=timedelta(seconds=10),
        ),
        Step(
            "Charge",
            action=Request(
                "v1.PaymentChargeRequested",
                lambda f: {"payment": f["sagaId"], "amount": f["quantity"] * 5},
                success="v1.PaymentCharged",
                failure="v1.PaymentChargeFailed",
            ),
            compensation=Request(
                "v1.PaymentRefundRequested",
                lambda f: {"payment": f["sagaId"], "reason": f["reason"]},
                success="v1.PaymentRefunded",
            ),
        ),
        Step(
            "Ship",
            action=Request(
                "v1.ShipmentRequested",
                lambda f: {"thingId": f["thingId"]},
                success="v1.ShipmentBooked",
                failure="v1.ShipmentRefused",
            ),
        ),
    ],
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def start(definition: SagaDefinition = THING, data: dict | None = None) -> Saga:
    return Saga.start(uuid.uuid4(), definition, dict(data or DATA), T0)


def reply(saga: Saga, topic: str, seconds: float, **data) -> bool:
    return saga.on_reply(topic, data, f"msg-{topic}-{seconds}", at(seconds))


def sent(saga: Saga) -> list[tuple[str, dict]]:
    """The messages the saga decided to send since the last call (and forget its events)."""
    return [(e.topic, e.data) for e in saga.pull_events() if isinstance(e, MessageSent)]


def changes(saga: Saga) -> list[str]:
    return [e.state for e in saga.pending_events if isinstance(e, SagaChanged)]


def phases(saga: Saga, kind: str) -> list[str]:
    return [step[kind]["state"] for step in saga.steps]


def at_charge() -> Saga:
    """A saga whose Reserve step succeeded at T0+1 s and that waits for the charge."""
    saga = start()
    assert reply(saga, "v1.ThingReserved", 1)
    saga.pull_events()
    return saga


def at_ship() -> Saga:
    """A saga that waits for the shipment (Reserve at T0+1 s, Charge at T0+2 s)."""
    saga = at_charge()
    assert reply(saga, "v1.PaymentCharged", 2)
    saga.pull_events()
    return saga


def snapshot(saga: Saga) -> dict:
    return {
        "state": saga.state,
        "current": saga.current,
        "reason": saga.reason,
        "deadline": saga.deadline,
        "steps": copy.deepcopy(saga.steps),
    }


# -- starting ---------------------------------------------------------------------------


def test_start_sends_the_first_action_and_sets_its_deadline():
    saga_id = uuid.uuid4()
    saga = Saga.start(saga_id, THING, dict(DATA), T0)
    assert (saga.state, saga.current, saga.key, saga.reason) == (
        SagaState.EXECUTING, 0, "thing-1", ""
    )  # fmt: skip
    assert saga.deadline == at(10)  # the step's own timeout
    assert not saga.finished
    (event,) = saga.pending_events
    assert isinstance(event, MessageSent)
    assert (event.aggregate_id, event.topic) == (saga_id, "v1.ThingReserveRequested")
    assert event.data == {**DATA, "sagaId": str(saga_id), "reason": ""}
    action = saga.steps[0]["action"]
    assert (action["state"], action["startedAt"], action["endedAt"]) == (
        "Executing", T0.isoformat(), None
    )  # fmt: skip
    assert action["sent"] == [
        {
            "topic": "v1.ThingReserveRequested",
            "id": event.message_id,
            "at": T0.isoformat(),
            "data": event.data,
        }
    ]
    assert action["received"] == []
    assert [s["name"] for s in saga.steps] == ["Reserve", "Charge", "Ship"]
    assert phases(saga, "action") == ["Executing", "NotStarted", "NotStarted"]
    assert phases(saga, "compensation") == ["NotStarted"] * 3


def test_a_step_without_action_succeeds_at_once_and_the_next_one_is_sent():
    prepared = SagaDefinition(
        "Prepared",
        started_by="v1.ThingOrdered",
        key=lambda d: d["thingId"],
        default_timeout=timedelta(seconds=7),
        steps=[
            Step("Prepare", compensation=THING.steps[0].compensation),
            THING.steps[1],
        ],
    )
    saga = start(prepared)
    assert (saga.state, saga.current, saga.deadline) == (SagaState.EXECUTING, 1, at(7))
    prepare = saga.steps[0]["action"]
    assert (prepare["state"], prepare["startedAt"], prepare["endedAt"]) == (
        "Succeeded", T0.isoformat(), T0.isoformat()
    )  # fmt: skip
    assert prepare["sent"] == []
    assert [topic for topic, _ in sent(saga)] == ["v1.PaymentChargeRequested"]


def test_a_saga_of_steps_without_action_is_executed_at_once():
    nothing = SagaDefinition(
        "Nothing", started_by="v1.X", key=lambda d: "k", steps=[Step("A"), Step("B")]
    )
    saga = start(nothing)
    assert (saga.state, saga.current, saga.deadline) == (SagaState.EXECUTED, 1, None)
    assert saga.finished
    assert phases(saga, "action") == ["Succeeded", "Succeeded"]
    assert changes(saga) == ["Executed"]
    assert sent(saga) == []


# -- executing --------------------------------------------------------------------------


def test_success_replies_advance_step_by_step_until_executed():
    saga = start()
    saga.pull_events()
    assert reply(saga, "v1.ThingReserved", 1, thingId="thing-1") is True
    assert (saga.state, saga.current, saga.deadline) == (SagaState.EXECUTING, 1, at(31))
    reserve = saga.steps[0]["action"]
    assert (reserve["state"], reserve["endedAt"]) == ("Succeeded", at(1).isoformat())
    assert reserve["received"] == [
        {
            "topic": "v1.ThingReserved",
            "id": "msg-v1.ThingReserved-1",
            "at": at(1).isoformat(),
            "data": {"thingId": "thing-1"},
        }
    ]
    payment = str(saga.id)
    assert sent(saga) == [("v1.PaymentChargeRequested", {"payment": payment, "amount": 10})]

    assert reply(saga, "v1.PaymentCharged", 2) is True
    assert (saga.state, saga.current, saga.deadline) == (SagaState.EXECUTING, 2, at(32))
    assert sent(saga) == [("v1.ShipmentRequested", {"thingId": "thing-1"})]

    assert reply(saga, "v1.ShipmentBooked", 3) is True
    assert (saga.state, saga.current, saga.deadline) == (SagaState.EXECUTED, 2, None)
    assert saga.finished and saga.reason == ""
    ship = saga.steps[2]["action"]
    assert (ship["state"], ship["startedAt"], ship["endedAt"]) == (
        "Succeeded", at(2).isoformat(), at(3).isoformat()
    )  # fmt: skip
    assert phases(saga, "action") == ["Succeeded"] * 3
    assert phases(saga, "compensation") == ["NotStarted"] * 3
    assert changes(saga) == ["Executed"]
    assert sent(saga) == []  # nothing more to send


# -- failure and compensation -----------------------------------------------------------


def test_a_failure_compensates_the_earlier_steps_newest_first():
    saga = at_ship()
    assert reply(saga, "v1.ShipmentRefused", 3, reason="no truck") is True
    assert saga.state is SagaState.COMPENSATING
    assert saga.reason == "Ship: no truck"
    assert (saga.current, saga.deadline) == (1, at(33))
    ship = saga.steps[2]["action"]
    assert (ship["state"], ship["endedAt"]) == ("Failed", at(3).isoformat())
    assert [m["data"] for m in ship["received"]] == [{"reason": "no truck"}]
    payment = str(saga.id)
    assert sent(saga) == [
        ("v1.PaymentRefundRequested", {"payment": payment, "reason": "Ship: no truck"})
    ]

    assert reply(saga, "v1.PaymentRefunded", 4) is True
    assert (saga.state, saga.current, saga.deadline) == (SagaState.COMPENSATING, 0, at(14))
    ((topic, data),) = sent(saga)
    assert topic == "v1.ThingReleaseRequested"
    assert data == {**DATA, "sagaId": payment, "reason": "Ship: no truck"}

    assert reply(saga, "v1.ThingReleased", 5) is True
    assert (saga.state, saga.deadline) == (SagaState.COMPENSATED, None)
    assert saga.finished
    assert phases(saga, "action") == ["Succeeded", "Succeeded", "Failed"]
    assert phases(saga, "compensation") == ["Succeeded", "Succeeded", "NotStarted"]
    assert changes(saga) == ["Compensated"]
    assert saga.reason == "Ship: no truck"  # why it compensated stays readable


def test_the_step_that_refused_is_not_compensated():
    saga = at_charge()
    assert reply(saga, "v1.PaymentChargeFailed", 2, reason="card declined") is True
    assert (saga.state, saga.current) == (SagaState.COMPENSATING, 0)
    assert saga.reason == "Charge: card declined"
    # Charge has a compensation, but it refused: it holds nothing to refund
    assert [topic for topic, _ in sent(saga)] == ["v1.ThingReleaseRequested"]
    assert phases(saga, "compensation") == ["Executing", "NotStarted", "NotStarted"]
    assert reply(saga, "v1.ThingReleased", 3)
    assert saga.state is SagaState.COMPENSATED
    assert phases(saga, "compensation") == ["Succeeded", "NotStarted", "NotStarted"]


def test_a_refusal_of_the_first_step_compensates_nothing():
    saga = start()
    saga.pull_events()
    assert reply(saga, "v1.ThingReserveFailed", 1)
    assert (saga.state, saga.deadline) == (SagaState.COMPENSATED, None)
    assert saga.reason == "Reserve: v1.ThingReserveFailed without a reason"
    assert sent(saga) == []
    assert phases(saga, "compensation") == ["NotStarted"] * 3


# -- timeouts ---------------------------------------------------------------------------


def test_expire_before_the_deadline_does_nothing():
    saga = at_charge()
    assert saga.deadline == at(31)
    before = snapshot(saga)
    assert saga.expire(saga.deadline - timedelta(microseconds=1)) is False
    assert saga.expire(T0) is False
    assert snapshot(saga) == before
    assert saga.pending_events == ()


def test_a_timeout_marks_the_step_timed_out_and_compensates_it_too():
    saga = at_charge()
    assert saga.expire(at(31)) is True  # exactly at the deadline is overdue
    assert saga.state is SagaState.COMPENSATING
    assert saga.reason == "Charge: no reply within 30 s"
    charge = saga.steps[1]
    assert (charge["action"]["state"], charge["action"]["endedAt"]) == (
        "TimedOut",
        at(31).isoformat(),
    )
    # it may have charged before its answer was lost: it is refunded first
    assert saga.current == 1 and saga.deadline == at(61)
    assert sent(saga) == [
        (
            "v1.PaymentRefundRequested",
            {"payment": str(saga.id), "reason": "Charge: no reply within 30 s"},
        )
    ]
    assert reply(saga, "v1.PaymentRefunded", 40)
    assert [topic for topic, _ in sent(saga)] == ["v1.ThingReleaseRequested"]
    assert reply(saga, "v1.ThingReleased", 41)
    assert saga.state is SagaState.COMPENSATED
    assert phases(saga, "action") == ["Succeeded", "TimedOut", "NotStarted"]
    assert phases(saga, "compensation") == ["Succeeded", "Succeeded", "NotStarted"]


def test_the_timeout_is_the_steps_own_and_a_step_without_compensation_is_skipped():
    saga = start()
    saga.pull_events()
    assert saga.expire(at(9)) is False
    assert saga.expire(at(11)) is True
    assert saga.reason == "Reserve: no reply within 10 s"
    assert (saga.state, saga.current) == (SagaState.COMPENSATING, 0)
    assert [topic for topic, _ in sent(saga)] == ["v1.ThingReleaseRequested"]

    shipping = at_ship()
    assert shipping.expire(at(32)) is True
    assert shipping.steps[2]["action"]["state"] == "TimedOut"
    assert (shipping.state, shipping.current) == (SagaState.COMPENSATING, 1)  # Ship undoes nothing
    assert [topic for topic, _ in sent(shipping)] == ["v1.PaymentRefundRequested"]


def test_expire_does_nothing_to_a_finished_saga():
    saga = at_ship()
    assert reply(saga, "v1.ShipmentBooked", 3)
    saga.pull_events()
    assert saga.expire(at(10_000)) is False
    assert saga.state is SagaState.EXECUTED and saga.pending_events == ()


# -- compensations that fail ------------------------------------------------------------


def test_a_failed_compensation_needs_attention_and_retry_can_finish_it():
    saga = at_charge()
    assert reply(saga, "v1.PaymentChargeFailed", 2, reason="card declined")
    saga.pull_events()
    assert reply(saga, "v1.ThingReleaseFailed", 3, reason="warehouse locked") is True
    assert (saga.state, saga.current, saga.deadline) == (SagaState.NEEDS_ATTENTION, 0, None)
    assert saga.finished
    assert saga.reason == "Charge: card declined; Reserve: warehouse locked"
    release = saga.steps[0]["compensation"]
    assert (release["state"], release["endedAt"]) == ("Failed", at(3).isoformat())
    assert changes(saga) == ["NeedsAttention"]
    assert sent(saga) == []
    assert saga.expire(at(1000)) is False  # nothing waits any more

    saga.retry_compensation(at(100))
    assert (saga.state, saga.current, saga.deadline) == (SagaState.COMPENSATING, 0, at(110))
    release = saga.steps[0]["compensation"]
    assert (release["state"], release["startedAt"], release["endedAt"]) == (
        "Executing", at(100).isoformat(), None
    )  # fmt: skip
    assert [m["at"] for m in release["sent"]] == [at(2).isoformat(), at(100).isoformat()]
    assert sent(saga) == [
        (
            "v1.ThingReleaseRequested",
            {
                **DATA,
                "sagaId": str(saga.id),
                "reason": "Charge: card declined; Reserve: warehouse locked",
            },
        )
    ]
    assert reply(saga, "v1.ThingReleased", 101) is True
    assert (saga.state, saga.deadline) == (SagaState.COMPENSATED, None)
    assert phases(saga, "compensation") == ["Succeeded", "NotStarted", "NotStarted"]


def test_a_compensation_that_times_out_needs_attention_and_retry_goes_on():
    saga = at_ship()
    assert reply(saga, "v1.ShipmentRefused", 3, reason="no truck")
    saga.pull_events()
    assert saga.current == 1 and saga.deadline == at(33)
    assert saga.expire(at(33)) is True
    assert (saga.state, saga.current, saga.deadline) == (SagaState.NEEDS_ATTENTION, 1, None)
    assert saga.reason == "Ship: no truck; Charge: no reply within 30 s"
    assert saga.steps[1]["compensation"]["state"] == "TimedOut"
    assert sent(saga) == []

    saga.retry_compensation(at(50))
    assert (saga.state, saga.current, saga.deadline) == (SagaState.COMPENSATING, 1, at(80))
    assert [topic for topic, _ in sent(saga)] == ["v1.PaymentRefundRequested"]
    assert reply(saga, "v1.PaymentRefunded", 51)
    assert [topic for topic, _ in sent(saga)] == ["v1.ThingReleaseRequested"]
    assert reply(saga, "v1.ThingReleased", 52)
    assert saga.state is SagaState.COMPENSATED
    assert phases(saga, "compensation") == ["Succeeded", "Succeeded", "NotStarted"]


@pytest.mark.parametrize("how", ["executing", "executed", "compensating", "compensated"])
def test_retry_compensation_refuses_a_saga_that_does_not_need_attention(how):
    saga = at_charge()
    if how == "executed":
        reply(saga, "v1.PaymentCharged", 2)
        reply(saga, "v1.ShipmentBooked", 3)
    elif how in ("compensating", "compensated"):
        reply(saga, "v1.PaymentChargeFailed", 2)
        if how == "compensated":
            reply(saga, "v1.ThingReleased", 3)
    assert saga.state.value == how.capitalize()
    saga.pull_events()
    before = snapshot(saga)
    with pytest.raises(InvalidState):
        saga.retry_compensation(at(100))
    assert snapshot(saga) == before and saga.pending_events == ()


# -- operator's cancel ------------------------------------------------------------------


def test_cancel_of_an_executing_saga_compensates_the_waiting_step_too():
    saga = at_charge()
    saga.cancel("customer changed their mind", at(5))
    assert saga.state is SagaState.COMPENSATING
    assert saga.reason == "cancelled: customer changed their mind"
    charge = saga.steps[1]["action"]
    assert (charge["state"], charge["endedAt"]) == ("Failed", at(5).isoformat())
    # the charge may have happened before the cancel: it is refunded
    assert (saga.current, saga.deadline) == (1, at(35))
    assert sent(saga) == [
        (
            "v1.PaymentRefundRequested",
            {"payment": str(saga.id), "reason": "cancelled: customer changed their mind"},
        )
    ]
    assert reply(saga, "v1.PaymentRefunded", 6)
    assert reply(saga, "v1.ThingReleased", 7)
    assert saga.state is SagaState.COMPENSATED


def test_cancel_of_a_compensating_saga_needs_attention():
    saga = at_charge()
    reply(saga, "v1.PaymentChargeFailed", 2, reason="card declined")
    saga.pull_events()
    saga.cancel("stuck", at(5))
    assert (saga.state, saga.deadline) == (SagaState.NEEDS_ATTENTION, None)
    assert saga.reason == "Charge: card declined; cancelled: stuck"
    assert saga.steps[0]["compensation"]["state"] == "Failed"
    assert sent(saga) == []


@pytest.mark.parametrize("outcome", ["v1.ShipmentBooked", "v1.ShipmentRefused"])
def test_cancel_of_a_finished_saga_is_invalid(outcome):
    saga = at_ship()
    reply(saga, outcome, 3)
    if saga.state is SagaState.COMPENSATING:
        reply(saga, "v1.PaymentRefunded", 4)
        reply(saga, "v1.ThingReleased", 5)
    assert saga.finished
    saga.pull_events()
    before = snapshot(saga)
    with pytest.raises(InvalidState) as error:
        saga.cancel("too late", at(10))
    assert str(saga.id) in error.value.message
    assert snapshot(saga) == before and saga.pending_events == ()


def test_cancel_of_a_saga_that_needs_attention_is_invalid():
    saga = at_charge()
    reply(saga, "v1.PaymentChargeFailed", 2)
    reply(saga, "v1.ThingReleaseFailed", 3)
    assert saga.state is SagaState.NEEDS_ATTENTION
    with pytest.raises(InvalidState):
        saga.cancel("again", at(10))


# -- duplicate, late and unexpected replies ---------------------------------------------


def ignored(notes: list[dict]) -> list[tuple[str, str]]:
    return [(n["topic"], n["id"]) for n in notes if n.get("ignored")]


def test_a_duplicate_reply_for_a_step_already_done_is_noted_and_ignored():
    saga = at_charge()
    before = snapshot(saga)
    assert reply(saga, "v1.ThingReserved", 9) is False
    after = snapshot(saga)
    assert {k: v for k, v in after.items() if k != "steps"} == {
        k: v for k, v in before.items() if k != "steps"
    }
    received = saga.steps[0]["action"]["received"]
    assert len(received) == 2 and "ignored" not in received[0]
    assert received[1] == {
        "topic": "v1.ThingReserved",
        "id": "msg-v1.ThingReserved-9",
        "at": at(9).isoformat(),
        "data": {},
        "ignored": True,
    }
    assert saga.steps[0]["action"]["state"] == "Succeeded"
    assert after["steps"][1:] == before["steps"][1:]
    assert sent(saga) == []  # nothing is sent twice


def test_a_late_failure_after_success_is_ignored():
    saga = at_charge()
    assert reply(saga, "v1.ThingReserveFailed", 9, reason="too late") is False
    assert (saga.state, saga.current, saga.reason) == (SagaState.EXECUTING, 1, "")
    assert saga.steps[0]["action"]["state"] == "Succeeded"
    assert ignored(saga.steps[0]["action"]["received"]) == [
        ("v1.ThingReserveFailed", "msg-v1.ThingReserveFailed-9")
    ]
    assert phases(saga, "compensation") == ["NotStarted"] * 3


def test_a_compensation_reply_while_executing_is_ignored():
    saga = at_charge()
    assert reply(saga, "v1.ThingReleased", 9) is False
    assert (saga.state, saga.current) == (SagaState.EXECUTING, 1)
    release = saga.steps[0]["compensation"]
    assert release["state"] == "NotStarted"
    assert ignored(release["received"]) == [("v1.ThingReleased", "msg-v1.ThingReleased-9")]


def test_a_duplicate_of_the_last_reply_leaves_an_executed_saga_alone():
    saga = at_ship()
    assert reply(saga, "v1.ShipmentBooked", 3)
    assert reply(saga, "v1.ShipmentBooked", 4) is False
    assert (saga.state, saga.deadline) == (SagaState.EXECUTED, None)
    assert ignored(saga.steps[2]["action"]["received"]) == [
        ("v1.ShipmentBooked", "msg-v1.ShipmentBooked-4")
    ]


def test_an_unknown_reply_topic_changes_nothing():
    saga = at_charge()
    before = snapshot(saga)
    assert reply(saga, "v1.SomethingElseHappened", 9) is False
    assert snapshot(saga) == before  # no step awaits that topic: none notes it
    assert sent(saga) == []


def test_a_success_reply_after_a_timeout_is_noted_and_ignored():
    saga = at_charge()
    assert saga.expire(at(31))
    saga.pull_events()
    before = snapshot(saga)
    assert reply(saga, "v1.PaymentCharged", 32) is False
    assert {k: v for k, v in snapshot(saga).items() if k != "steps"} == {
        k: v for k, v in before.items() if k != "steps"
    }
    charge = saga.steps[1]
    assert charge["action"]["state"] == "TimedOut"  # the late answer does not revive it
    assert ignored(charge["action"]["received"]) == [
        ("v1.PaymentCharged", "msg-v1.PaymentCharged-32")
    ]
    assert charge["compensation"] == before["steps"][1]["compensation"]
    assert charge["compensation"]["state"] == "Executing"  # the refund still runs
    assert sent(saga) == []


def test_ignored_replies_are_recorded_so_the_note_is_saved():
    saga = at_charge()
    reply(saga, "v1.ThingReserved", 9)
    assert changes(saga) == ["Executing"]  # a change event: the repository saves the note


# -- definition options -----------------------------------------------------------------


def test_without_reverse_on_failure_a_failure_needs_attention_and_compensates_nothing():
    keep = dataclasses.replace(THING, reverse_on_failure=False)
    saga = start(keep)
    reply(saga, "v1.ThingReserved", 1)
    saga.pull_events()
    assert reply(saga, "v1.PaymentChargeFailed", 2, reason="card declined") is True
    assert (saga.state, saga.current, saga.deadline) == (SagaState.NEEDS_ATTENTION, 1, None)
    assert saga.reason == "Charge: card declined"
    assert sent(saga) == []
    assert phases(saga, "action") == ["Succeeded", "Failed", "NotStarted"]
    assert phases(saga, "compensation") == ["NotStarted"] * 3
    with pytest.raises(InvalidState):  # no compensation failed: there is nothing to retry
        saga.retry_compensation(at(3))
    assert sent(saga) == [] and saga.state == SagaState.NEEDS_ATTENTION


def test_without_reverse_on_failure_a_timeout_needs_attention_too():
    keep = dataclasses.replace(THING, reverse_on_failure=False)
    saga = start(keep)
    saga.pull_events()
    assert saga.expire(at(10))
    assert (saga.state, saga.reason) == (SagaState.NEEDS_ATTENTION, "Reserve: no reply within 10 s")
    assert sent(saga) == []
    assert phases(saga, "compensation") == ["NotStarted"] * 3


def test_build_functions_receive_the_facts_and_messages_carry_them():
    seen = []

    def record(f):
        seen.append(dict(f))
        return {"copy": dict(f)}

    recorded = SagaDefinition(
        "Recorded",
        started_by="v1.X",
        key=lambda d: d["thingId"],
        steps=[
            Step(
                "One",
                action=Request("v1.OneRequested", record, success="v1.OneDone"),
                compensation=Request("v1.OneUndoRequested", record, success="v1.OneUndone"),
            ),
            Step(
                "Two",
                action=Request("v1.TwoRequested", record, success="v1.TwoDone", failure="v1.TwoNo"),
            ),
        ],
    )
    saga = start(recorded, {"thingId": "t-9", "lines": [1, 2]})
    reply(saga, "v1.OneDone", 1)
    reply(saga, "v1.TwoNo", 2, reason="nope")
    saga_id = str(saga.id)
    assert seen == [
        {"thingId": "t-9", "lines": [1, 2], "sagaId": saga_id, "reason": ""},
        {"thingId": "t-9", "lines": [1, 2], "sagaId": saga_id, "reason": ""},
        {"thingId": "t-9", "lines": [1, 2], "sagaId": saga_id, "reason": "Two: nope"},
    ]
    events = [e for e in saga.pending_events if isinstance(e, MessageSent)]
    assert [(e.topic, e.data) for e in events] == [
        ("v1.OneRequested", {"copy": seen[0]}),
        ("v1.TwoRequested", {"copy": seen[1]}),
        ("v1.OneUndoRequested", {"copy": seen[2]}),
    ]
    assert {e.aggregate_id for e in events} == {saga.id}
    assert len({e.message_id for e in events}) == 3
    # the timeline notes each message with the id it goes out under
    notes = [
        saga.steps[0]["action"]["sent"][0],
        saga.steps[1]["action"]["sent"][0],
        saga.steps[0]["compensation"]["sent"][0],
    ]
    assert [(n["topic"], n["id"], n["data"]) for n in notes] == [
        (e.topic, e.message_id, e.data) for e in events
    ]


def test_a_saga_reloaded_from_its_json_timeline_goes_on():
    """The repository stores the timeline as JSON and loads the saga back from it."""
    saga = at_charge()
    stored = json.loads(json.dumps(saga.steps))
    loaded = Saga(
        saga.id,
        THING,
        key=saga.key,
        data=saga.data,
        state=SagaState(saga.state.value),
        current=saga.current,
        steps=stored,
        reason=saga.reason,
        deadline=saga.deadline,
        version=3,
    )
    assert reply(loaded, "v1.PaymentChargeFailed", 2, reason="declined")
    assert (loaded.state, loaded.current) == (SagaState.COMPENSATING, 0)
    assert [topic for topic, _ in sent(loaded)] == ["v1.ThingReleaseRequested"]
    assert loaded.version == 3  # only the repository moves the version


# -- the definition API -----------------------------------------------------------------


def test_a_definition_needs_at_least_one_step():
    with pytest.raises(ValueError, match="Empty needs at least one step"):
        SagaDefinition("Empty", started_by="v1.X", key=lambda d: "k", steps=[])


def test_a_definition_refuses_a_repeated_step_name():
    with pytest.raises(ValueError, match="Twice repeats a step name"):
        SagaDefinition(
            "Twice", started_by="v1.X", key=lambda d: "k", steps=[Step("A"), Step("B"), Step("A")]
        )


def test_steps_are_kept_as_a_tuple_and_timeouts_default():
    assert isinstance(THING.steps, tuple) and len(THING.steps) == 3
    assert THING.timeout_of(THING.steps[0]) == timedelta(seconds=10)
    assert THING.timeout_of(THING.steps[1]) == timedelta(seconds=30)


def test_request_replies_are_success_then_failure():
    assert THING.steps[0].action.replies == ("v1.ThingReserved", "v1.ThingReserveFailed")
    assert THING.steps[1].compensation.replies == ("v1.PaymentRefunded",)


def test_reply_and_sent_topics_list_every_request_of_the_definition():
    assert THING.reply_topics == (
        "v1.PaymentChargeFailed",
        "v1.PaymentCharged",
        "v1.PaymentRefunded",
        "v1.ShipmentBooked",
        "v1.ShipmentRefused",
        "v1.ThingReleaseFailed",
        "v1.ThingReleased",
        "v1.ThingReserveFailed",
        "v1.ThingReserved",
    )
    assert THING.sent_topics == (
        "v1.PaymentChargeRequested",
        "v1.PaymentRefundRequested",
        "v1.ShipmentRequested",
        "v1.ThingReleaseRequested",
        "v1.ThingReserveRequested",
    )


def test_the_create_order_saga_sends_and_awaits_its_contract_topics():
    assert [s.name for s in create_order.steps] == [
        "CreateOrder",
        "ReserveCustomerCredit",
        "ReserveProductInventory",
        "SetOrderStateCreated",
    ]
    assert create_order.started_by == "v1.OrderPlaced"
    assert create_order.sent_topics == (
        "v1.CustomerCreditReleaseRequested",
        "v1.CustomerCreditReserveRequested",
        "v1.InventoryReleaseRequested",
        "v1.InventoryReserveRequested",
        "v1.OrderConfirmRequested",
        "v1.OrderRejectRequested",
    )
    assert create_order.reply_topics == (
        "v1.CustomerCreditReleased",
        "v1.CustomerCreditReserveFailed",
        "v1.CustomerCreditReserved",
        "v1.InventoryReleased",
        "v1.InventoryReserveFailed",
        "v1.InventoryReserved",
        "v1.OrderConfirmFailed",
        "v1.OrderConfirmed",
        "v1.OrderRejected",
    )


def test_the_create_order_saga_starts_by_reserving_credit_for_the_order_total():
    order = {
        "orderId": "o-1",
        "customerId": "c-1",
        "orderTotal": "22.50",
        "items": [{"productId": "p-1", "quantity": 3}],
    }
    saga = Saga.start(uuid.uuid4(), create_order, order, T0)
    assert (saga.key, saga.current, saga.deadline) == ("o-1", 1, at(30))
    assert saga.steps[0]["action"]["state"] == "Succeeded"  # the order exists already
    assert sent(saga) == [
        (
            "v1.CustomerCreditReserveRequested",
            {"reservation": "o-1", "customerId": "c-1", "amount": "22.50"},
        )
    ]
    assert reply(saga, "v1.CustomerCreditReserved", 1)
    assert sent(saga) == [
        (
            "v1.InventoryReserveRequested",
            {"reservation": "o-1", "lines": [{"productId": "p-1", "quantity": 3}]},
        )
    ]
    assert reply(saga, "v1.InventoryReserveFailed", 2, reason="out of stock")
    assert sent(saga) == [
        ("v1.CustomerCreditReleaseRequested", {"reservation": "o-1", "customerId": "c-1"})
    ]
    assert reply(saga, "v1.CustomerCreditReleased", 3)
    assert sent(saga) == [
        (
            "v1.OrderRejectRequested",
            {"orderId": "o-1", "reason": "ReserveProductInventory: out of stock"},
        )
    ]
    assert reply(saga, "v1.OrderRejected", 4)
    assert saga.state is SagaState.COMPENSATED
