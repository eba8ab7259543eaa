"""The inventory HTTP contract, and reservations all or nothing."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from edn_core.cqrs import send
from edn_core.testing import EventBus
from inventory import commands
from inventory.models import ProductRecord
from tests.inventory.factories import CreateProductFactory

pytestmark = pytest.mark.django_db(databases="__all__")


def _reserving(reservation: str, lines: list):
    """Send one stock request the way the saga handler does: in a batch command (of one)."""
    request = commands.StockRequest(reservation=reservation, lines=lines)
    return send(commands.ReserveStocks(requests=[request]))


def _reserve(reservation: str, lines: list):
    return _reserving(reservation, lines).value_or_raise()[0]


def _release(reservation: str):
    return send(commands.ReleaseStocks(reservations=[reservation])).value_or_raise()[0]


def test_create_get_list_and_update_with_etags(api):
    created = api.post(
        "/api/inventory", {"description": "Widget", "amountAvailable": 9}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["amountAvailable"] == 9 and created["Location"].endswith(body["id"])
    assert api.get(created["Location"]).json()["description"] == "Widget"
    assert api.get("/api/inventory", {"description": "widg"}).json()["count"] == 1
    assert (
        api.put(
            created["Location"], {"description": "Widget", "amountAvailable": 5}, format="json"
        ).status_code
        == 428
    )
    updated = api.put(
        created["Location"],
        {"description": "Widget", "amountAvailable": 5},
        format="json",
        HTTP_IF_MATCH=created["ETag"],
    )
    assert updated.status_code == 200 and updated.json()["amountAvailable"] == 5
    stale = api.put(
        created["Location"],
        {"description": "Widget", "amountAvailable": 1},
        format="json",
        HTTP_IF_MATCH=created["ETag"],
    )
    assert stale.status_code == 412


@pytest.mark.parametrize(
    "body",
    [
        {"description": "W", "amountAvailable": -1},
        {"description": "W", "amountAvailable": "9"},
        {"description": "W", "amountAvailable": 9.5},
        {"description": 7, "amountAvailable": 9},
        {"description": "W"},
        {"description": "W", "amountAvailable": 9, "price": 3},
    ],
)
def test_bad_input_is_400_problem_and_writes_nothing(api, body):
    response = api.post("/api/inventory", body, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert ProductRecord.objects.count() == 0


def test_malformed_json_is_400(api):
    response = api.generic("POST", "/api/inventory", "{", content_type="application/json")
    assert response.status_code == 400 and ProductRecord.objects.count() == 0


def test_stock_changes_are_published(api):
    bus = EventBus()
    product = CreateProductFactory.create(amount_available=9)
    _reserve("order-1", [(product.id, 3)])
    events = bus.published("v1.ProductStockChanged")
    assert [e.data["amountAvailable"] for e in events] == [9, 6]


def test_a_reservation_is_all_or_nothing():
    plenty = CreateProductFactory.create(amount_available=9)
    scarce = CreateProductFactory.create(amount_available=1)
    answer = _reserve("order-1", [(plenty.id, 3), (scarce.id, 2)])
    assert not answer.ok and "available" in answer.reason
    amounts = dict(ProductRecord.objects.values_list("id", "amount_available"))
    assert amounts == {plenty.id: 9, scarce.id: 1}


def test_unknown_product_fails_the_reservation():
    answer = _reserve("o", [(uuid.uuid4(), 1)])
    assert not answer.ok and "does not exist" in answer.reason


def test_release_returns_exactly_what_was_held_once():
    product = CreateProductFactory.create(amount_available=9)
    _reserve("o", [(product.id, 3)])
    _reserve("o", [(product.id, 3)])  # a repeat
    assert ProductRecord.objects.get(pk=product.id).amount_available == 6
    for _ in range(2):
        _release("o")
    assert ProductRecord.objects.get(pk=product.id).amount_available == 9


def test_a_release_before_the_reserve_refuses_the_late_reserve():
    product = CreateProductFactory.create(amount_available=9)
    _release("o")
    late = _reserve("o", [(product.id, 3)])
    assert not late.ok
    assert ProductRecord.objects.get(pk=product.id).amount_available == 9


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_concurrent_reservations_never_oversell(require_postgres):
    """30 buyers race for 10 units: exactly 10 get one (no oversell, and no unit left unsold
    because a lost race was given up), the other 20 are refused for want of stock."""
    require_postgres("inventory")
    product = CreateProductFactory.create(amount_available=10)
    start = threading.Barrier(30)

    def reserve(n: int):
        try:
            start.wait(timeout=30)
            # a lost optimistic race means another buyer's reservation committed: at most 10
            # of those can happen, so the 11th attempt at the latest is decided
            for _ in range(11):
                result = _reserving(f"o{n}", [(product.id, 1)])
                if result.outcome != "PreconditionFailed":
                    return result.value_or_raise()[0]
            raise AssertionError(f"o{n} lost more races than there are units")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(pool.map(reserve, range(30)))
    accepted = sum(answer.ok for answer in answers)
    row = ProductRecord.objects.get(pk=product.id)
    assert (accepted, row.amount_available) == (10, 0)
    assert all("available" in a.reason for a in answers if not a.ok), answers
