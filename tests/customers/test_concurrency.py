"""Optimistic concurrency under real contention (PostgreSQL)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from rest_framework.test import APIClient

from customers.models import CustomerRecord
from tests.conftest import bearer_token
from tests.customers.factories import CreateCustomerFactory, customer_payload

WRITERS = 50


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_concurrent_puts_with_the_same_etag_let_exactly_one_win(require_postgres):
    require_postgres("customers")
    customer = CreateCustomerFactory.create()
    url = f"/api/customers/{customer.id}"
    start = threading.Barrier(WRITERS)

    def put(n: int) -> tuple[int, str]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer_token()}")
        try:
            start.wait(timeout=30)
            response = client.put(
                url, customer_payload(firstName=f"writer-{n}"), format="json", HTTP_IF_MATCH='"1"'
            )
            return response.status_code, f"writer-{n}"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        results = list(pool.map(put, range(WRITERS)))

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [412] * (WRITERS - 1)
    (winner,) = [name for status, name in results if status == 200]
    row = CustomerRecord.objects.get(pk=customer.id)
    assert row.first_name == winner
    assert (
        f'"{row.version}"'
        == APIClient().get(url, HTTP_AUTHORIZATION=f"Bearer {bearer_token()}")["ETag"]
    )
