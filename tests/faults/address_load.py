"""A load of address changes through the HTTP API, as clients would send them in an outage.

Each thread owns some customers (each with one open order) and moves them in turn with
``PATCH`` + ``If-Match``. A change answered 200 is accepted. A 503 (problem+json) is retried
until it is accepted. A 412 after a 503 means the refused attempt had committed after all
(the connection died after the database committed but before the answer came back): the
customer is read again, and the change counts as accepted once it shows there. Anything else
(a 500, another status, a broken connection) is recorded as a failure for the test to report,
and the change is tried again.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support.monolith import customer_with_order

RETRY_PAUSE = 0.1  # between attempts of a refused change: pacing, not a deadline


class AddressChanges:
    def __init__(self, base_url: str, token: str, customers: int = 40, threads: int = 4):
        self.base_url, self.token = base_url, token
        self.customer_count, self.thread_count = customers, threads
        self.customers: list[dict] = []
        self.lock = threading.Lock()
        self.accepted = 0
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []
        self.threads: list[threading.Thread] = []
        self.total = float("inf")  # until the test names it (finish)

    def client(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60)

    def create_customers(self) -> None:
        """Create the customers (each with its open order), from every thread at once."""

        def create(first: int) -> list[dict]:
            with self.client() as api:
                numbers = range(first, self.customer_count, self.thread_count)
                return [customer_with_order(api, n) for n in numbers]

        with ThreadPoolExecutor(self.thread_count) as pool:
            made = list(pool.map(create, range(self.thread_count)))
        self.customers = [customer for part in made for customer in part]

    def start(self, rate: float | None = None) -> None:
        """Send changes from every thread, at most ``rate`` a second (load shaping, so that
        outages fall among the events), until :meth:`finish`."""
        interval = self.thread_count / rate if rate else 0.0
        for n in range(self.thread_count):
            mine = self.customers[n :: self.thread_count]
            thread = threading.Thread(target=self._run, args=(mine, interval), daemon=True)
            thread.start()
            self.threads.append(thread)

    def finish(self, total: int, timeout: float = 1800) -> None:
        """Stop once ``total`` changes were accepted (at once if they were already)."""
        self.total = total
        for thread in self.threads:
            thread.join(timeout)
            assert not thread.is_alive(), "the load did not finish"

    def seen(self, status: int) -> int:
        with self.lock:
            return self.statuses[status]

    def _run(self, mine: list[dict], interval: float) -> None:
        try:
            with self.client() as api:
                moves, next_at = 0, time.monotonic()
                while self.accepted < self.total:
                    for customer in mine:
                        if self.accepted >= self.total:
                            return
                        moves += 1
                        self._move(api, customer, f"{moves} Lane")
                        next_at += interval
                        time.sleep(max(0.0, next_at - time.monotonic()))
        except Exception as error:  # must fail the test, not end a thread quietly
            self._record(-1, f"a load thread died: {error!r}")

    def _record(self, status: int, failure: str | None = None) -> None:
        with self.lock:
            self.statuses[status] += 1
            if failure:
                self.failures.append(failure)

    def _move(self, api: httpx.Client, customer: dict, street: str) -> None:
        body = {"shippingAddress": {"street": street}}
        refused = False
        while True:
            try:
                response = api.patch(
                    customer["url"], headers={"If-Match": customer["etag"]}, json=body
                )
            except httpx.TransportError as error:
                response = None
                self._record(0, f"PATCH: {type(error).__name__}: {error}")
            else:
                self._record(response.status_code, _unexpected(response))
            if response is not None and response.status_code == 200:
                customer["etag"] = response.headers["ETag"]
                break
            moved = response is not None and response.status_code == 412
            if moved and self._committed(api, customer, street):
                if not refused:
                    self._record(412, f"412 for a change never sent before: {street}")
                break
            refused = True
            time.sleep(RETRY_PAUSE)
        customer["street"] = street
        with self.lock:
            self.accepted += 1

    def _committed(self, api: httpx.Client, customer: dict, street: str) -> bool:
        """Read the customer (until the API answers); adopt its ETag; whether it has moved."""
        while True:
            try:
                response = api.get(customer["url"])
            except httpx.TransportError:
                time.sleep(RETRY_PAUSE)
                continue
            self._record(response.status_code, _unexpected(response))
            if response.status_code == 200:
                customer["etag"] = response.headers["ETag"]
                return response.json()["shippingAddress"]["street"] == street
            time.sleep(RETRY_PAUSE)


def _unexpected(response: httpx.Response) -> str | None:
    """Describe a response an outage must never produce (None if it is a fine one)."""
    status = response.status_code
    if status in (200, 412):
        return None
    if status == 503:
        kind = response.headers.get("Content-Type", "")
        if kind.startswith("application/problem+json") and response.json().get("status") == 503:
            return None
        return f"503 without problem+json: {kind} {response.text[:300]}"
    return f"{response.request.method} answered {status}: {response.text[:300]}"
