"""The relay and the Celery worker SIGKILLed ``KILLS`` times each (6 in CI, 10 at full size)
while they move a backlog of
address changes, on RabbitMQ and on Redis: nothing is lost, nothing has two effects.

Kill points are chosen by the test, not by a timer. The relay always stops at the pause point
``relay.published.customers`` (:mod:`edn_core.testing_hooks`: a batch published, not yet
marked sent, so it is published again), after three batches, so the kills are spread over
the backlog. The worker is killed at two kinds of points, in turn:

* committed, not acked: the pause point ``consumer.before_ack.orders``; the broker delivers
  the batch again and the inbox drops it. The new worker's first delivery is what its killed
  predecessor left unacked; the relay starts after it, so the worker stops at a fresh batch.
* mid-delivery: the test holds a lock on every order, so the worker's transaction waits on
  it; the worker is killed while it waits (seen in ``pg_stat_activity``). Its transaction
  never commits; the broker must give its messages to the next worker (on Redis: after the
  visibility timeout, which the deployment sets to 5 s here).

Full size (CI runs the defaults of :mod:`tests.faults.conftest`: 2,000 events, 6 kills)::

    EDN_FAULT_EVENTS=20000 EDN_FAULT_KILLS=10 .venv/bin/python -m pytest \\
        tests/faults/test_process_kills.py -p no:cacheprovider
"""

from edn_core.testing_hooks import PausePoints
from tests.faults.conftest import EVENTS, KILLS
from tests.faults.effects import (
    HANDLED,
    assert_each_event_applied_once_in_order,
    count,
    wait_until_delivered,
)
from tests.support.deployment import (
    RELAY,
    Deployment,
    postgres_or_skip,
    wait_for,
    worker_command,
)
from tests.support.monolith import MONOLITH, prepare

REDIS_DB = 7
CUSTOMERS = 200
EVENTS_EACH = max(1, EVENTS // CUSTOMERS)
RELAY_BATCH = max(10, EVENTS // (4 * KILLS))  # 4 batches a kill: a kill after three each
RELAY_POINT, WORKER_POINT = ("relay.published", "customers"), ("consumer.before_ack", "orders")
RELAY_GATE = ("relay.claimed", "customers")
WAITING_ON_A_LOCK = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


def passes_left(points: PausePoints, point: tuple[str, str]) -> int:
    """How many more times an armed point lets a process through before it stops one."""
    return int((points.folder / ".".join(point)).read_text() or 0)


def own_database(broker_url: str) -> str:
    """Redis keeps every consumer's unacked messages in one hash per database, and any worker
    on it puts back those older than *its* visibility timeout: this test's short one must
    not reach the messages of other runs, so it gets a Redis database of its own."""
    base, _, db = broker_url.rpartition("/")
    return f"{base}/{REDIS_DB}" if broker_url.startswith("redis") and db.isdigit() else broker_url


def test_relay_and_worker_killed_again_and_again_lose_and_repeat_nothing(broker_url, tmp_path):
    postgres_or_skip()
    points = PausePoints(tmp_path / "points", timeout=300)
    with Deployment(
        MONOLITH,
        own_database(broker_url),
        tmp_path,
        EDN_BUS_RELAY_BATCH=str(RELAY_BATCH),
        EDN_BUS_MESSAGE_BATCH=str(max(1, RELAY_BATCH // 5)),
        EDN_BROKER_VISIBILITY_TIMEOUT="5",
        **points.env(),
    ) as deployment:
        seed = f"from tests.support.seed_events import seed; seed({CUSTOMERS}, {EVENTS_EACH})"
        prepare(deployment, then=seed)  # one process: tables, schemas, queues, the backlog
        customers = deployment.database("app", "customers")
        orders = deployment.database("app", "orders")
        blocker = deployment.database("app", "orders")
        sent = "SELECT count(*) FROM customers_outboxmessage WHERE sent_at IS NOT NULL"
        progress = []
        for kill in range(KILLS):
            mid_delivery = kill % 2 == 1
            redelivery_first = kill > 0 and not mid_delivery
            if mid_delivery:
                points.disarm(*WORKER_POINT)
                blocker.execute("BEGIN")
                blocker.execute("LOCK TABLE orders_orderevent IN SHARE MODE")  # appends wait
            else:
                points.arm(*WORKER_POINT, after=1 if redelivery_first else 0)
            if redelivery_first:  # the relay starts with the worker, but waits at its claim
                points.arm(*RELAY_GATE)
            points.arm(*RELAY_POINT, after=3)
            worker = deployment.start("app", f"worker-{kill}", *worker_command(f"w{kill}"))
            relay = deployment.start("app", f"relay-{kill}", *RELAY)
            if redelivery_first:  # what the last worker left unacked goes through first
                wait_for(lambda: passes_left(points, WORKER_POINT) == 0, 300, "a redelivery")
                points.disarm(*RELAY_GATE)
            assert points.wait_paused(*RELAY_POINT) == relay.pid
            relay.kill()
            if mid_delivery:
                wait_for(lambda: count(orders, WAITING_ON_A_LOCK), 300, "a blocked delivery")
                worker.kill()
                blocker.execute("ROLLBACK")
            else:
                assert points.wait_paused(*WORKER_POINT) == worker.pid
                worker.kill()
            progress.append((count(customers, sent), count(orders, HANDLED)))
        assert progress[-1][0] < count(customers, "SELECT count(*) FROM customers_outboxmessage")
        for point in (RELAY_POINT, WORKER_POINT):  # the last ones run to the end
            points.disarm(*point)
        deployment.start("app", "relay-last", *RELAY)
        deployment.start("app", "worker-last", *worker_command("w-last"))

        wait_until_delivered(customers, orders, tmp_path)
        figures = assert_each_event_applied_once_in_order(customers, orders)
        print(f"\n{figures}, (sent, handled) after each kill: {progress}")
        blocker.close()
