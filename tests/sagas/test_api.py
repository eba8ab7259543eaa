"""The sagas HTTP contract: list with filters, detail with ETags, the operator's cancel and retry.

Sagas are made the way they are in production: an order placed through the API starts the
create-order saga, and the bus carries its messages to the other apps and back.
"""

import uuid
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from edn_core.testing import EventBus
from sagas.models import OutboxMessage, SagaRecord
from tests.sagas.helpers import credit_available, new_customer, new_product, place, saga_of, stock

pytestmark = pytest.mark.django_db(databases="__all__")

PROBLEM = "application/problem+json"
SAGA_FIELDS = {
    "id",
    "type",
    "key",
    "state",
    "currentStep",
    "reason",
    "deadline",
    "createdAt",
    "updatedAt",
    "data",
    "steps",
}


PHASE_TIMES = ("startedAt", "endedAt")


def assert_problem(response, status, slug=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if slug:
        assert body["type"] == f"urn:edn:problem:{slug}"
    return body


def url(saga, action=""):
    saga_id = saga["id"] if isinstance(saga, dict) else saga
    return f"/api/sagas/{saga_id}" + (f"/{action}" if action else "")


def snapshot() -> dict:
    """Everything a refused request must leave as it was."""
    return {
        "sagas": sorted(
            SagaRecord.objects.values_list("id", "version", "state", "reason", "current_step")
        ),
        "steps": {str(r.id): r.steps for r in SagaRecord.objects.all()},
        "outbox": OutboxMessage.objects.count(),
    }


def ids(page: dict) -> list[str]:
    return [saga["id"] for saga in page["results"]]


@pytest.fixture
def sagas(api):
    """A create-order saga that succeeded, then (a moment later) one that was rejected."""
    bus = EventBus()
    customer, product = new_customer(api, "100.00"), new_product(api, 9)
    created = place(api, customer, product, price="7.50", quantity=3).json()
    bus.run_until_quiet()
    poor = new_customer(api, "20.00")
    rejected = place(api, poor, product, price="7.50", quantity=3).json()
    bus.run_until_quiet()
    executed, compensated = saga_of(api, created["id"]), saga_of(api, rejected["id"])
    assert (executed["state"], compensated["state"]) == ("Executed", "Compensated")
    return {
        "executed": executed,
        "compensated": compensated,
        "order": created,
        "rejectedOrder": rejected,
        "customer": customer,
    }


@pytest.fixture
def waiting(api, silent_inventory):
    """A create-order saga that reserved credit and waits for inventory's answer."""
    bus = EventBus()
    customer, product = new_customer(api, "100.00"), new_product(api, 9)
    order = place(api, customer, product, price="7.50", quantity=3).json()
    bus.run_until_quiet()
    saga = saga_of(api, order["id"])
    assert (saga["state"], saga["currentStep"]) == ("Executing", "ReserveProductInventory")
    assert credit_available(api, customer) == "77.50"
    return {"saga": saga, "order": order, "customer": customer, "product": product, "bus": bus}


# -- reading ----------------------------------------------------------------------------


def test_api_needs_a_bearer_token(anonymous, sagas):
    saga = sagas["executed"]
    before = snapshot()
    for response in (
        anonymous.get("/api/sagas"),
        anonymous.get(url(saga)),
        anonymous.post(url(saga, "cancel"), {"reason": "x"}, format="json", HTTP_IF_MATCH="*"),
        anonymous.post(url(saga, "retry"), HTTP_IF_MATCH="*"),
    ):
        assert_problem(response, 401)
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert snapshot() == before


def test_list_is_paginated_newest_first(api, sagas):
    response = api.get("/api/sagas")
    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 2 and (page["next"], page["previous"]) == (None, None)
    newest_first = [sagas["compensated"]["id"], sagas["executed"]["id"]]
    assert ids(page) == newest_first
    assert set(page["results"][0]) == SAGA_FIELDS

    first = api.get("/api/sagas", {"pageSize": 1}).json()
    assert (first["count"], len(first["results"])) == (2, 1)
    assert first["next"] and first["previous"] is None
    second = api.get(first["next"]).json()
    assert second["next"] is None and second["previous"]
    assert ids(first) + ids(second) == newest_first


def test_list_filters_by_state(api, sagas):
    executed = api.get("/api/sagas", {"state": "Executed"}).json()
    assert ids(executed) == [sagas["executed"]["id"]]
    assert executed["results"][0]["state"] == "Executed"
    compensated = api.get("/api/sagas", {"state": "Compensated"}).json()
    assert ids(compensated) == [sagas["compensated"]["id"]]
    for state in ("Executing", "Compensating", "NeedsAttention", "Initial"):
        assert api.get("/api/sagas", {"state": state}).json()["count"] == 0, state


def test_list_filters_by_type(api, sagas):
    both = api.get("/api/sagas", {"type": "CreateOrder"}).json()
    assert sorted(ids(both)) == sorted([sagas["executed"]["id"], sagas["compensated"]["id"]])
    assert {s["type"] for s in both["results"]} == {"CreateOrder"}
    none = api.get("/api/sagas", {"type": "ShipOrder"}).json()
    assert (none["count"], none["results"]) == (0, [])


def test_list_filters_by_key_the_order_id(api, sagas):
    order_id = sagas["order"]["id"]
    page = api.get("/api/sagas", {"key": order_id}).json()
    assert ids(page) == [sagas["executed"]["id"]]
    assert page["results"][0]["key"] == order_id
    rejected = api.get("/api/sagas", {"key": sagas["rejectedOrder"]["id"]}).json()
    assert ids(rejected) == [sagas["compensated"]["id"]]
    assert api.get("/api/sagas", {"key": str(uuid.uuid4())}).json()["count"] == 0
    both = {"key": order_id, "state": "Compensated"}
    assert api.get("/api/sagas", both).json()["count"] == 0


def test_list_filters_by_age(api, sagas):
    two_hours_ago = timezone.now() - timedelta(hours=2)
    SagaRecord.objects.filter(pk=sagas["executed"]["id"]).update(created_at=two_hours_ago)
    assert ids(api.get("/api/sagas", {"olderThanSeconds": 3600}).json()) == [
        sagas["executed"]["id"]
    ]
    assert ids(api.get("/api/sagas", {"olderThanSeconds": "7000.5"}).json()) == [
        sagas["executed"]["id"]
    ]
    assert api.get("/api/sagas", {"olderThanSeconds": 0}).json()["count"] == 2
    assert api.get("/api/sagas", {"olderThanSeconds": 3 * 3600}).json()["count"] == 0
    old_and_rejected = {"olderThanSeconds": 3600, "state": "Compensated"}
    assert api.get("/api/sagas", old_and_rejected).json()["count"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "Bogus"}, "state"),
        ({"state": "executed"}, "state"),  # states are spelled as the API shows them
        ({"colour": "red"}, "colour"),
        ({"olderThanSeconds": -1}, "olderThanSeconds"),
        ({"olderThanSeconds": "soon"}, "olderThanSeconds"),
        ({"type": "x" * 101}, "type"),
    ],
)
def test_a_bad_filter_is_400_with_field_errors(api, sagas, params, field):
    body = assert_problem(api.get("/api/sagas", params), 400, "invalid-input")
    assert list(body["errors"]) == [field]
    assert body["errors"][field]


def test_detail_shows_the_timeline_with_an_etag_and_304_when_unchanged(api, sagas):
    saga = sagas["executed"]
    response = api.get(url(saga))
    assert response.status_code == 200
    row = SagaRecord.objects.get(pk=saga["id"])
    assert response["ETag"] == f'"{row.version}"'
    assert row.version == 4  # saved at start and after each of its three replies
    body = response.json()
    assert set(body) == SAGA_FIELDS
    assert (body["type"], body["key"], body["state"]) == (
        "CreateOrder", sagas["order"]["id"], "Executed"
    )  # fmt: skip
    assert (body["currentStep"], body["reason"], body["deadline"]) == (
        "SetOrderStateCreated", "", None
    )  # fmt: skip
    assert body["data"]["orderId"] == sagas["order"]["id"]
    assert body["data"]["customerId"] == sagas["customer"]["id"]
    steps = body["steps"]
    assert [s["name"] for s in steps] == [
        "CreateOrder",
        "ReserveCustomerCredit",
        "ReserveProductInventory",
        "SetOrderStateCreated",
    ]
    assert [s["action"]["state"] for s in steps] == ["Succeeded"] * 4
    assert steps[0]["action"]["durationMs"] == 0  # done before the saga started
    # each phase's duration is its stored end minus its start, in ms: positive for a step that
    # waited for a reply, and within the saga's lifetime (created -> last saved)
    lifetime_ms = (row.updated_at - row.created_at).total_seconds() * 1000
    for shown, stored in zip(steps[1:], row.steps[1:], strict=True):
        started, ended = (datetime.fromisoformat(stored["action"][k]) for k in PHASE_TIMES)
        took = (ended - started).total_seconds() * 1000
        assert shown["action"]["durationMs"] == pytest.approx(took, abs=0.001)
        assert 0 < shown["action"]["durationMs"] <= lifetime_ms
    assert all(s["compensation"]["durationMs"] is None for s in steps)
    inventory = steps[2]["action"]
    assert [m["topic"] for m in inventory["sent"]] == ["v1.InventoryReserveRequested"]
    assert [m["topic"] for m in inventory["received"]] == ["v1.InventoryReserved"]
    assert body == api.get("/api/sagas", {"key": saga["key"]}).json()["results"][0]

    again = api.get(url(saga), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert again["ETag"] == response["ETag"]
    assert not again.content
    stale = api.get(url(saga), HTTP_IF_NONE_MATCH='"1"')
    assert stale.status_code == 200 and stale.json() == body


def test_detail_of_a_rejected_saga_says_why(api, sagas):
    body = api.get(url(sagas["compensated"])).json()
    assert body["state"] == "Compensated"
    assert body["reason"].startswith("ReserveCustomerCredit: ")
    assert "20.00 credit available, 22.50 requested" in body["reason"]
    assert [s["action"]["state"] for s in body["steps"]] == [
        "Succeeded", "Failed", "NotStarted", "NotStarted"
    ]  # fmt: skip
    assert [s["compensation"]["state"] for s in body["steps"]] == [
        "Succeeded", "NotStarted", "NotStarted", "NotStarted"
    ]  # fmt: skip


def test_unknown_saga_is_404_problem(api, sagas):
    assert_problem(api.get(url(uuid.uuid4())), 404, "not-found")
    assert_problem(api.get("/api/sagas/not-a-uuid"), 404)


# -- cancel -----------------------------------------------------------------------------


def test_cancel_without_if_match_is_428_and_changes_nothing(api, waiting):
    before = snapshot()
    for headers in ({}, {"HTTP_IF_MATCH": ""}):
        response = api.post(
            url(waiting["saga"], "cancel"), {"reason": "stop"}, format="json", **headers
        )
        assert_problem(response, 428, "precondition-required")
    assert snapshot() == before


def test_cancel_with_a_stale_etag_is_412_and_changes_nothing(api, waiting):
    current = api.get(url(waiting["saga"]))["ETag"]
    assert current == '"2"'
    before = snapshot()
    for stale in ('"1"', '"9"', "yesterday", 'W/"2"'):
        response = api.post(
            url(waiting["saga"], "cancel"), {"reason": "stop"}, format="json", HTTP_IF_MATCH=stale
        )
        assert_problem(response, 412, "precondition-failed")
    assert snapshot() == before


@pytest.mark.parametrize("which", ["executed", "compensated"])
def test_cancel_of_a_finished_saga_is_409_and_changes_nothing(api, sagas, which):
    saga = sagas[which]
    current = api.get(url(saga))["ETag"]
    before = snapshot()
    response = api.post(
        url(saga, "cancel"), {"reason": "stop"}, format="json", HTTP_IF_MATCH=current
    )
    body = assert_problem(response, 409, "invalid-state")
    assert saga["id"] in body["detail"]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"reason": "stop", "force": True}, "force"),
        ({}, "reason"),
        ({"reason": 42}, "reason"),
        ({"reason": "x" * 501}, "reason"),
    ],
)
def test_cancel_with_a_bad_body_is_400_and_changes_nothing(api, waiting, payload, field):
    current = api.get(url(waiting["saga"]))["ETag"]
    before = snapshot()
    response = api.post(
        url(waiting["saga"], "cancel"), payload, format="json", HTTP_IF_MATCH=current
    )
    body = assert_problem(response, 400, "invalid-input")
    assert field in body["errors"]
    assert snapshot() == before


def test_cancel_of_an_unknown_saga_is_404(api, sagas):
    response = api.post(
        url(uuid.uuid4(), "cancel"), {"reason": "stop"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert_problem(response, 404, "not-found")


def test_cancel_of_a_waiting_saga_compensates_it(api, waiting):
    saga, bus = waiting["saga"], waiting["bus"]
    current = api.get(url(saga))["ETag"]
    response = api.post(
        url(saga, "cancel"), {"reason": "customer called"}, format="json", HTTP_IF_MATCH=current
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["state"], body["reason"]) == (
        saga["id"], "Compensating", "cancelled: customer called"
    )  # fmt: skip
    row = SagaRecord.objects.get(pk=saga["id"])
    assert response["ETag"] == f'"{row.version}"' != current
    assert api.get(url(saga))["ETag"] == response["ETag"]
    # the waiting step may have reserved before it was cancelled: it is released first
    assert body["currentStep"] == "ReserveProductInventory"
    inventory = body["steps"][2]
    assert (inventory["action"]["state"], inventory["compensation"]["state"]) == (
        "Failed", "Executing"
    )  # fmt: skip
    assert body["deadline"] is not None

    bus.run_until_quiet()
    done = api.get(url(saga)).json()
    assert (done["state"], done["reason"]) == ("Compensated", "cancelled: customer called")
    assert [s["compensation"]["state"] for s in done["steps"]] == [
        "Succeeded", "Succeeded", "Succeeded", "NotStarted"
    ]  # fmt: skip
    order = api.get(f"/api/orders/{waiting['order']['id']}").json()
    assert order["state"] == "Rejected"
    assert "cancelled: customer called" in order["rejectionReason"]
    assert (credit_available(api, waiting["customer"]), stock(api, waiting["product"])) == (
        "100.00",
        9,
    )
    released = bus.published("v1.CustomerCreditReleaseRequested")
    assert [e.correlation_id for e in released] == [saga["id"]]
    assert bus.dead_letters() == []

    again = api.post(
        url(saga, "cancel"),
        {"reason": "twice"},
        format="json",
        HTTP_IF_MATCH=api.get(url(saga))["ETag"],
    )
    assert_problem(again, 409, "invalid-state")


# -- retry ------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["executed", "compensated"])
def test_retry_of_a_saga_that_does_not_need_attention_is_409(api, sagas, which):
    saga = sagas[which]
    current = api.get(url(saga))["ETag"]
    before = snapshot()
    body = assert_problem(api.post(url(saga, "retry"), HTTP_IF_MATCH=current), 409, "invalid-state")
    assert saga["id"] in body["detail"]
    assert snapshot() == before


def test_retry_of_a_waiting_saga_is_409(api, waiting):
    current = api.get(url(waiting["saga"]))["ETag"]
    before = snapshot()
    response = api.post(url(waiting["saga"], "retry"), HTTP_IF_MATCH=current)
    assert_problem(response, 409, "invalid-state")
    assert snapshot() == before


def test_retry_needs_if_match(api, sagas):
    before = snapshot()
    assert_problem(api.post(url(sagas["executed"], "retry")), 428, "precondition-required")
    assert_problem(
        api.post(url(sagas["executed"], "retry"), HTTP_IF_MATCH='"1"'), 412, "precondition-failed"
    )
    assert snapshot() == before


def test_retry_of_a_saga_that_needs_attention_sends_the_compensation_again(api, waiting):
    saga, bus = waiting["saga"], waiting["bus"]

    def post(action, **body):
        tag = api.get(url(saga))["ETag"]
        return api.post(url(saga, action), body or None, format="json", HTTP_IF_MATCH=tag)

    assert post("cancel", reason="stop").json()["state"] == "Compensating"
    # cancelled again while the release is under way: an operator has to look at it
    stuck = post("cancel", reason="release stuck")
    assert stuck.status_code == 200, stuck.content
    assert (stuck.json()["state"], stuck.json()["reason"]) == (
        "NeedsAttention", "cancelled: stop; cancelled: release stuck"
    )  # fmt: skip
    stale = api.post(url(saga, "retry"), HTTP_IF_MATCH='"2"')
    assert_problem(stale, 412, "precondition-failed")

    retried = post("retry")
    assert retried.status_code == 200, retried.content
    body = retried.json()
    assert (body["state"], body["currentStep"]) == ("Compensating", "ReserveProductInventory")
    release = body["steps"][2]["compensation"]
    assert release["state"] == "Executing"
    assert [m["topic"] for m in release["sent"]] == ["v1.InventoryReleaseRequested"] * 2
    assert retried["ETag"] == f'"{SagaRecord.objects.get(pk=saga["id"]).version}"'

    bus.run_until_quiet()
    done = api.get(url(saga)).json()
    assert done["state"] == "Compensated"
    release = done["steps"][2]["compensation"]
    # both release requests were answered; the second answer is noted and ignored
    assert [bool(m.get("ignored")) for m in release["received"]] == [False, True]
    assert api.get(f"/api/orders/{waiting['order']['id']}").json()["state"] == "Rejected"
    assert credit_available(api, waiting["customer"]) == "100.00"
    assert stock(api, waiting["product"]) == 9
    assert bus.dead_letters() == []
