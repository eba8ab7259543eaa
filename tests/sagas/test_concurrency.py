"""200 concurrent create-order requests competing for limited stock and credit, on PostgreSQL,
with several bus workers advancing the sagas at the same time."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections
from rest_framework.test import APIClient

from customers.models import CustomerRecord
from edn_core.testing import EventBus
from inventory.models import ProductRecord
from sagas.models import SagaRecord
from tests.conftest import bearer_token
from tests.orders.factories import stored_orders
from tests.sagas.helpers import new_customer, new_product

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

CUSTOMERS, ORDERS_EACH, PRICE, CREDIT, STOCK = 20, 10, "25.00", "200.00", 120


def _client() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer_token()}")
    return client


def test_200_concurrent_orders_never_oversell_and_all_sagas_finish(api, require_postgres):
    require_postgres("customers", "orders", "inventory", "sagas")
    customers = [new_customer(api, CREDIT) for _ in range(CUSTOMERS)]
    product = new_product(api, STOCK)
    placing_done = threading.Event()

    def place(n: int) -> int:
        customer = customers[n % CUSTOMERS]
        body = {
            "customerId": customer["id"],
            "shippingAddress": customer["shippingAddress"],
            "items": [
                {
                    "productId": product["id"],
                    "productName": "Widget",
                    "productPrice": PRICE,
                    "quantity": 1,
                }
            ],
        }
        try:
            return _client().post("/api/orders", body, format="json").status_code
        finally:
            connections.close_all()

    def relay() -> None:  # a bus worker: any of them may advance any saga
        try:
            while not placing_done.is_set():
                EventBus().run_until_quiet(fast_forward=True)
            EventBus().run_until_quiet(fast_forward=True)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=3) as relays:
        running = [relays.submit(relay) for _ in range(3)]
        with ThreadPoolExecutor(max_workers=16) as clients:
            statuses = Counter(clients.map(place, range(CUSTOMERS * ORDERS_EACH)))
        placing_done.set()
        for worker in running:
            worker.result(timeout=300)
    bus = EventBus()
    bus.run_until_quiet(fast_forward=True)

    assert statuses == {202: CUSTOMERS * ORDERS_EACH}
    placed = stored_orders()
    orders = Counter(o.state.value for o in placed)
    sagas = Counter(SagaRecord.objects.values_list("state", flat=True))
    assert "Pending" not in orders, orders
    assert set(sagas) <= {"Executed", "Compensated"}, sagas
    assert sum(sagas.values()) == CUSTOMERS * ORDERS_EACH
    assert orders["Created"] == sagas["Executed"] > 0
    assert orders["Rejected"] == sagas["Compensated"] > 0

    stock = ProductRecord.objects.get(pk=product["id"]).amount_available
    assert stock == STOCK - orders["Created"] >= 0
    created_per_customer = Counter(str(o.customer_id) for o in placed if o.state == "Created")
    for row in CustomerRecord.objects.all():
        assert Decimal("0") <= row.credit_reserved <= row.credit_limit
        assert row.credit_reserved == Decimal(PRICE) * created_per_customer[str(row.id)]
    assert bus.dead_letters() == [] and bus.pending() == 0
