"""RabbitMQ cut away from every service process three times (``OUTAGE_SECONDS`` each: 6 s in
CI, 10 s at full size) under a load of
address changes through the API; the broker itself keeps running for everyone else.

The relay and the Celery worker reach RabbitMQ only through a :class:`TcpProxy`. While it is
cut, the API keeps accepting commands (their events wait in the outbox); after each outage
the relay and the worker reconnect on their own, without a restart, and deliver the backlog
before the next outage; at the end every event has had exactly one effect, in order
(:mod:`tests.faults.effects`). The outages start after 1/4, 1/2 and 3/4 of the events; the
load is paced so that they fall among them, and runs on while a backlog drains, so a run
has a few hundred events more than asked. Full size (CI runs the defaults of
:mod:`tests.faults.conftest`: 2,000 events offered over 40 s at most)::

    EDN_FAULT_EVENTS=20000 EDN_FAULT_OUTAGE_SECONDS=10 EDN_FAULT_LOAD_SECONDS=60 \\
        .venv/bin/python -m pytest tests/faults/test_broker_outage.py -p no:cacheprovider
"""

import time

from tests.faults.address_load import AddressChanges
from tests.faults.conftest import EVENTS, LOAD_SECONDS, OUTAGE_SECONDS, OUTAGES
from tests.faults.effects import (
    HANDLED,
    PENDING,
    assert_each_event_applied_once_in_order,
    count,
    wait_until_delivered,
)
from tests.support.deployment import RELAY, Deployment, wait_for, worker_command
from tests.support.monolith import MONOLITH, prepare
from tests.support.tcp_proxy import TcpProxy

RATE = EVENTS / LOAD_SECONDS  # events per second the load offers at most


def test_broker_cut_three_times_under_load_loses_and_repeats_nothing(rabbitmq, tmp_path):
    proxy = TcpProxy(5672)
    try:
        with Deployment(MONOLITH, proxy.url(rabbitmq, 5672), tmp_path) as deployment:
            bearer = prepare(deployment, token_for="faults")
            deployment.serve("app")
            relay = deployment.start("app", "relay", *RELAY)
            worker = deployment.start("app", "worker", *worker_command("worker"))
            customers = deployment.database("app", "customers")
            orders = deployment.database("app", "orders")
            load = AddressChanges(deployment.url("app"), bearer)
            load.create_customers()
            load.start(rate=RATE)

            for outage in range(1, OUTAGES + 1):
                wait_for(
                    lambda n=outage: load.accepted >= EVENTS * n // (OUTAGES + 1),
                    600,
                    f"the load before outage {outage}; logs in {tmp_path}",
                )
                proxy.cut()
                back_at = time.monotonic() + OUTAGE_SECONDS
                accepted_at_cut = load.accepted
                # commands go on being accepted; their events wait in the outbox
                wait_for(lambda a=accepted_at_cut: load.accepted > a, 120, "commands")
                wait_for(lambda: count(customers, PENDING) > 0, 120, "events held back")
                time.sleep(max(0.0, back_at - time.monotonic()))  # the rest of the outage
                proxy.restore()
                restored_at = load.accepted
                backlog = count(customers, "SELECT max(id) FROM customers_outboxmessage")
                wait_for(  # relay and worker are back by themselves, and catch up
                    lambda r=restored_at, b=backlog: (
                        count(customers, f"{PENDING} AND id <= {b}") == 0
                        and count(orders, HANDLED) >= r
                    ),
                    300,
                    f"the backlog of outage {outage} delivered; logs in {tmp_path}",
                )
            load.finish(EVENTS)
            assert not load.failures, load.failures[:20]
            assert load.seen(503) == 0, "the API refused commands while the broker was away"

            events = wait_until_delivered(customers, orders, tmp_path, alive=(relay, worker))
            assert events == load.accepted
            figures = assert_each_event_applied_once_in_order(customers, orders)
            assert relay.poll() is None and worker.poll() is None, "a process gave up"
            assert proxy.refused > 0
            print(f"\n{figures}, API statuses {dict(load.statuses)}")
    finally:
        proxy.close()
