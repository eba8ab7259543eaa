"""``manage.py edn_streams run --all``: the streams process of a deployed service runs every
processor of its hosted apps, a thread each, until SIGTERM or SIGINT stops them all; a
processor whose run fails is logged and starts again while the others go on.

The command runs in the test's own thread (it installs the signal handlers); a watcher thread
sends the signal once every processor caught up (its lag in ``edn_streams list`` is zero and
the read models hold the orders), so nothing waits on the clock but a deadlock guard.

On PostgreSQL, as deployed: the test databases of SQLite are in memory with a shared cache,
where concurrent writers fail at once ("database table is locked") instead of waiting."""

import io
import os
import signal
import threading
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.test import override_settings

from analytics.read_models import CustomerSession, OrderMinute, ProductMinute
from edn_core.streams import hosted, operations, runtime
from edn_core.testing import EventBus
from tests.analytics.test_flow import place

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)
PROCESSORS = ("analytics.customer-sessions", "analytics.order-minutes", "analytics.product-minutes")
GUARD = 60.0  # seconds: only ends a run that is stuck


def lags() -> dict[str, int]:
    return {row.group: row.behind for row in operations.standing() if row.processor}


def caught_up(orders: int, customers: int) -> bool:
    return (
        all(lags().get(name) == 0 for name in PROCESSORS)
        and sum(r.orders for r in OrderMinute.objects.using("analytics")) == orders
        and len({r.product_id for r in ProductMinute.objects.using("analytics")}) == 2
        and len({r.customer_id for r in CustomerSession.objects.using("analytics")}) == customers
    )


def run_all_until(done, sig: int) -> tuple[str, list[str]]:
    """Run ``edn_streams run --all`` here until ``done()`` is true, then send ``sig`` to this
    process; return the output and what went wrong in the watcher."""
    problems, watching = [], threading.Event()

    def watch() -> None:
        try:
            while not done():
                if watching.wait(0.05):  # the command ended by itself: nothing to stop
                    return
        except Exception as error:  # report it, and still stop the command
            problems.append(repr(error))
        finally:
            connections.close_all()
        os.kill(os.getpid(), sig)

    watcher = threading.Thread(target=watch, name="watcher", daemon=True)
    guard = threading.Timer(GUARD, lambda: (problems.append("guard"), os.kill(os.getpid(), sig)))
    out = io.StringIO()
    watcher.start()
    guard.start()
    try:
        call_command("edn_streams", "run", "--all", stdout=out)
    finally:
        guard.cancel()
        watching.set()
        watcher.join(GUARD)
    return out.getvalue(), problems


def place_orders(api) -> dict[str, int]:
    """Three orders of two customers over two products; each processor's backlog."""
    ada, bob, tea, cake = (uuid.uuid4() for _ in range(4))
    place(api, ada, (tea, 2, "3.50"), (cake, 1, "4.25"))
    place(api, bob, (tea, 1, "3.50"))
    place(api, ada, (cake, 3, "4.25"))
    EventBus().run_until_quiet()
    backlog = lags()
    assert all(backlog[name] > 0 for name in PROCESSORS), backlog
    return backlog


def test_every_hosted_processor_runs_until_sigterm(api, require_postgres):
    require_postgres("analytics")
    backlog, before = place_orders(api), signal.getsignal(signal.SIGTERM)
    out, problems = run_all_until(lambda: caught_up(orders=3, customers=2), signal.SIGTERM)
    assert problems == []
    assert "analytics.order-minutes: orders (database log), group analytics.order-minutes" in out
    for name in PROCESSORS:
        assert f"{name}: {backlog[name]:,} entries applied, caught up" in out
        assert f"{name}: {backlog[name]:,} entries applied" in out.splitlines()[-3:]  # totals
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is given back
    assert caught_up(orders=3, customers=2)


def test_a_failed_processor_starts_again_and_the_others_go_on(
    api, monkeypatch, caplog, require_postgres
):
    require_postgres("analytics")
    backlog = place_orders(api)
    failing, real_run = "analytics.customer-sessions", runtime.run
    failed = []

    def run(processor, log, **options):
        if processor.name == failing and len(failed) < 2:  # two runs fail before a round
            failed.append(processor.name)
            raise RuntimeError("the log cannot be opened")
        return real_run(processor, log, **options)

    monkeypatch.setattr(runtime, "run", run)
    monkeypatch.setattr(hosted, "RESTART_FIRST", 0.001)
    before = signal.getsignal(signal.SIGINT)
    out, problems = run_all_until(lambda: caught_up(orders=3, customers=2), signal.SIGINT)
    assert problems == []
    assert failed == [failing, failing]
    restarts = [r.getMessage() for r in caplog.records if r.name == "edn_core.streams.hosted"]
    assert restarts == [
        f"processor {failing} stopped; again in 0.001s",
        f"processor {failing} stopped; again in 0.002s",  # the wait doubled
    ]
    assert all(r.exc_info for r in caplog.records if r.name == "edn_core.streams.hosted")
    assert out.count(f"{failing}: analytics.customer-orders (database log)") == 3
    for name in PROCESSORS:
        assert f"{name}: {backlog[name]:,} entries applied, caught up" in out
    assert signal.getsignal(signal.SIGINT) is before


def test_refusals():
    with pytest.raises(CommandError, match="not both"):
        call_command("edn_streams", "run", "analytics.order-minutes", "--all")
    with override_settings(EDN_SERVICES=["orders"]), pytest.raises(CommandError, match="no str"):
        call_command("edn_streams", "run", "--all")
