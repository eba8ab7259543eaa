"""PostgreSQL cut away from every service process three times (``OUTAGE_SECONDS`` each: 6 s in
CI, 10 s at full size) under a load of
address changes through the API; the PostgreSQL server itself keeps running for everyone else.

The services (gunicorn, ``edn_relay``, the Celery worker: one monolith of customers, orders
and the registry, events over RabbitMQ) reach PostgreSQL only through a :class:`TcpProxy`;
the test reads the databases directly. The outages start after 1/4, 1/2 and 3/4 of the
events; during each, ``/readyz`` must turn 503 and the API answer 503 problem+json (any
500, or any other answer, fails the test), and ``/readyz`` must be 200 again afterwards.
The relay sweeps only once an hour here, so only its LISTEN connection, opened again after
each outage, can wake it for what is committed next. Then every event must have had exactly
one effect, in order (:mod:`tests.faults.effects`). Full size (CI runs the
defaults of :mod:`tests.faults.conftest`: 2,000 events, outages of 6 s)::

    EDN_FAULT_EVENTS=20000 EDN_FAULT_OUTAGE_SECONDS=10 .venv/bin/python -m pytest \\
        tests/faults/test_database_outage.py -p no:cacheprovider
"""

import time

from tests.faults.address_load import AddressChanges
from tests.faults.conftest import EVENTS, OUTAGE_SECONDS, OUTAGES, readiness
from tests.faults.effects import (
    assert_each_event_applied_once_in_order,
    wait_until_delivered,
)
from tests.support.deployment import PG, RELAY, Deployment, wait_for, worker_command
from tests.support.monolith import MONOLITH, prepare
from tests.support.tcp_proxy import TcpProxy


def test_database_cut_three_times_answers_503_then_loses_and_repeats_nothing(rabbitmq, tmp_path):
    proxy = TcpProxy(5432)
    try:
        with Deployment(
            MONOLITH,
            rabbitmq,
            tmp_path,
            postgres_url=proxy.url(PG, 5432),
            # an hour-long sweep: after an outage only the relay's listener, connected
            # again, wakes the relay for what is committed next
            EDN_BUS_SWEEP_SECONDS="3600",
        ) as deployment:
            bearer = prepare(deployment, token_for="faults")
            deployment.serve("app")
            relay = deployment.start("app", "relay", *RELAY)
            worker = deployment.start("app", "worker", *worker_command("worker"))
            load = AddressChanges(deployment.url("app"), bearer)
            load.create_customers()
            load.start()

            for outage in range(1, OUTAGES + 1):
                wait_for(
                    lambda n=outage: load.accepted >= EVENTS * n // (OUTAGES + 1),
                    600,
                    f"the load before outage {outage}; logs in {tmp_path}",
                )
                refused_before = load.seen(503)
                proxy.cut()
                back_at = time.monotonic() + OUTAGE_SECONDS
                wait_for(lambda: readiness(deployment) == 503, 120, "/readyz to go unready")
                wait_for(
                    lambda b=refused_before: load.seen(503) > b or load.failures,
                    120,
                    "a 503 from the API",
                )
                assert not load.failures, load.failures[:20]
                time.sleep(max(0.0, back_at - time.monotonic()))  # the rest of the outage
                proxy.restore()
                wait_for(lambda: readiness(deployment) == 200, 120, "/readyz ready again")
            load.finish(EVENTS)
            assert proxy.refused > 0 and proxy.forwarded > 0
            assert not load.failures, load.failures[:20]

            customers = deployment.database("app", "customers")
            orders = deployment.database("app", "orders")
            events = wait_until_delivered(customers, orders, tmp_path, alive=(relay, worker))
            assert events == load.accepted, "an accepted change without its event, or extra"
            figures = assert_each_event_applied_once_in_order(customers, orders)
            streets = dict(customers.execute("SELECT id::text, street FROM customers_customer"))
            for customer in load.customers:
                assert (
                    streets[customer["url"].rstrip("/").rsplit("/", 1)[-1]] == (customer["street"])
                )
            print(f"\n{figures}, API statuses {dict(load.statuses)}, outbox pending 0")
    finally:
        proxy.close()
