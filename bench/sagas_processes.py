"""Phase 4 of bench/sagas.py: the create-order saga with every service in its own processes.

The topology of tests/test_saga_processes.py: registry, customers, inventory, orders and sagas,
each with gunicorn (1 worker), ``edn_relay`` and a Celery worker (``--pool=solo``) on its own
PostgreSQL databases, events over RabbitMQ with publisher confirms. Orders are placed by one
``manage.py shell`` in the orders service, one transaction each, as fast as it can; the rate is
sagas / (last saga row saved - first order row created), all on this machine's clock.
"""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

from tests.support.deployment import SAGA_SERVICES

SERVICES = SAGA_SERVICES
PARTICIPANTS = ("customers", "inventory", "orders", "sagas")
PRICE, QUANTITY = Decimal("7.50"), 1  # every order the benchmarks place: one Widget at 7.50
STOCK = 10**9


class IncorrectRun(RuntimeError):
    """The run did not do what it measured: no verdict may be printed for it."""


def check_correct(placed: int, states: dict[str, int], stock_taken: int, credit: Decimal) -> None:
    """Raise :class:`IncorrectRun` unless all ``placed`` sagas are Executed (the success path),
    the stock taken is the quantities ordered and the credit reserved is the orders' totals."""
    problems = []
    if states != {"Executed": placed}:
        problems.append(f"{placed} sagas placed, their states: {states or 'none'}")
    if stock_taken != placed * QUANTITY:
        problems.append(f"stock taken {stock_taken}, quantities ordered {placed * QUANTITY}")
    if credit != placed * PRICE:
        problems.append(f"credit reserved {credit}, order totals {placed * PRICE}")
    if problems:
        raise IncorrectRun("incorrect run, no verdict: " + "; ".join(problems))


CREATE_CUSTOMER = """
from decimal import Decimal
from customers.commands import CreateCustomer
from edn_core.cqrs import send
a = dict(street="1 Road", city="Leeds", state="WY", country="UK", postal_code="L1")
print(send(CreateCustomer(first_name="B", last_name="P", shipping_address=a,
                          credit_limit=Decimal("10000000"))).value.id)
"""
CREATE_PRODUCT = f"""
from edn_core.cqrs import send
from inventory.commands import CreateProduct
print(send(CreateProduct(description="Widget", amount_available={STOCK})).value.id)
"""
PLACE_ORDERS = """
from decimal import Decimal
from uuid import UUID
from edn_core.cqrs import send
from orders.commands import PlaceOrder
a = dict(street="1 Road", city="Leeds", state="WY", country="UK", postal_code="L1")
line = dict(product_id=UUID("{product}"), product_name="Widget",
            product_price=Decimal("{price}"), quantity={quantity})
for _ in range({count}):
    send(PlaceOrder(customer_id=UUID("{customer}"), shipping_address=a, items=[line]))
"""


def run_processes(count: int, raw_sagas: float, say, prefix: str) -> float:
    from tests.conftest import BROKERS, broker_or_skip
    from tests.support.deployment import RELAY, Deployment, wait_for, worker_command

    broker = broker_or_skip(BROKERS["rabbitmq"])
    logs = Path(tempfile.mkdtemp(prefix="edn-bench-sagas-"))
    say(f"[separate processes] 5 services over RabbitMQ; logs in {logs}")
    with Deployment(SERVICES, broker, logs, prefix=prefix, GUNICORN_WORKERS="1") as deployment:
        for service in SERVICES:
            deployment.manage(service, "migrate_all")
        deployment.serve("registry")
        for service in PARTICIPANTS:
            deployment.manage(service, "edn_schemas", "register")
            deployment.manage(service, "edn_broker")
            deployment.start(service, "relay", *RELAY)
            deployment.start(service, "worker", *worker_command(service))
        customer = deployment.manage("customers", "shell", "-c", CREATE_CUSTOMER).split()[-1]
        product = deployment.manage("inventory", "shell", "-c", CREATE_PRODUCT).split()[-1]
        wait_for(
            lambda: all(
                deployment.relay_listening(service) and deployment.consumers(service)
                for service in PARTICIPANTS
            ),
            120,
            "every relay listening and every worker consuming",
        )
        script = PLACE_ORDERS.format(
            product=product, customer=customer, count=count, price=PRICE, quantity=QUANTITY
        )
        deployment.manage("orders", "shell", "-c", script)
        sagas = deployment.database("sagas", "sagas")
        orders = deployment.database("orders", "orders")
        ended = "state IN ('Executed', 'Compensated', 'NeedsAttention')"
        done_sql = f"SELECT count(*), max(updated_at) FROM sagas_saga WHERE {ended}"
        done = wait_for(
            lambda: (row := sagas.execute(done_sql).fetchone())[0] >= count and row,
            600,
            f"{count} sagas ended; logs in {logs}",
        )
        states = "SELECT state, count(*) FROM sagas_saga GROUP BY state"
        customers = deployment.database("customers", "customers")
        inventory = deployment.database("inventory", "inventory")
        (left,) = inventory.execute("SELECT amount_available FROM inventory_product").fetchone()
        (held,) = customers.execute("SELECT credit_reserved FROM customers_customer").fetchone()
        check_correct(count, dict(sagas.execute(states).fetchall()), STOCK - left, held)
        first = orders.execute("SELECT min(recorded_at) FROM orders_orderevent").fetchone()[0]
        elapsed = (done[1] - first).total_seconds()
        rate = count / elapsed
        say(
            f"  {count} sagas in {elapsed:.2f} s: {rate:.0f} sagas/s = "
            f"{rate / raw_sagas:.2f}x raw sagas/s"
        )
        return rate
