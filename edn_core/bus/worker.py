"""The long-running loop behind ``manage.py edn_relay`` and the in-process relay thread.

It drains every outbox, runs due retries, then sleeps until woken: by a commit in this
process, by PostgreSQL ``NOTIFY`` from any process, or by the sweep timeout (recovery).
"""

from __future__ import annotations

import gc
import logging
import select
import threading
import time
from collections.abc import Callable

from django.db import close_old_connections, connections

from edn_core import testing_hooks
from edn_core.bus import retries
from edn_core.bus.config import bus_config
from edn_core.bus.outbox import NOTIFY_CHANNEL, on_outbox_commit
from edn_core.bus.relay import PublishFailed, drain
from edn_core.bus.stores import all_stores

__all__ = ["BusWorker", "each_round", "ensure_in_process_worker", "every", "run_rounds"]

logger = logging.getLogger(__name__)
_periodic: dict[str, tuple[float, Callable[[], object]]] = {}
_rounds: dict[str, Callable[[], int]] = {}
RETRY_CHECK_SECONDS = 0.5
RECONNECT_SECONDS = 2.0  # between attempts of the listener to reach its database again


def every(seconds: float, job: Callable[[], object], *, name: str) -> None:
    """Run ``job`` from every bus worker about every ``seconds`` (apps register sweepers here:
    edn_core cannot import them). Registering a name again replaces the job."""
    _periodic[name] = (seconds, job)


def each_round(job: Callable[[], int], *, name: str) -> None:
    """Run ``job`` in every round of every bus worker and of the test harness (projections
    catch up there); it returns how much it moved. Registering a name again replaces it."""
    _rounds[name] = job


def run_rounds(*, strict: bool = False) -> int:
    """Run the jobs of :func:`each_round`; a failure is logged (raised when ``strict``)."""
    moved = 0
    for name, job in list(_rounds.items()):
        try:
            moved += job()
        except Exception:
            if strict:
                raise
            logger.exception("round job %s failed", name)
    return moved


class _PostgresListener:
    """LISTEN on each PostgreSQL alias; wake the worker when a notification arrives. A lost
    connection (database restarting, network cut) is opened again, and the worker woken then:
    notifications sent meanwhile are gone (until then the periodic sweep covers)."""

    def __init__(self, aliases: list[str], wake: threading.Event) -> None:
        self.params = [connections[alias].get_connection_params() for alias in aliases]
        self.wake = wake
        threading.Thread(target=self._listen, name="edn-listen", daemon=True).start()

    def _connect(self) -> list:
        import psycopg

        opened = []
        try:
            for params in self.params:
                opened.append(psycopg.connect(**params, autocommit=True))
                opened[-1].execute(f"LISTEN {NOTIFY_CHANNEL}")
        except Exception:
            for conn in opened:
                conn.close()
            raise
        return opened

    def _listen(self) -> None:
        away = False
        while True:
            try:
                listening = self._connect()
            except Exception as error:
                if not away:  # once per outage, not once per attempt
                    logger.warning("outbox listener cannot connect (%r); sweeping", error)
                away = True
                time.sleep(RECONNECT_SECONDS)
                continue
            if away:
                logger.info("outbox listener connected again")
            away = False
            self.wake.set()  # for what was committed while it was not listening
            try:
                while True:
                    ready, _, _ = select.select(listening, [], [], 5)
                    if any([list(conn.notifies(timeout=0)) for conn in ready]):
                        self.wake.set()
            except Exception as error:
                logger.warning("outbox listener lost its connection, reconnecting: %r", error)
                away = True
                for conn in listening:
                    conn.close()


class BusWorker:
    """Relay every outbox of this process and run due retries until stopped."""

    def __init__(self, *, listen: bool = True) -> None:
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.listen = listen
        self.failures = 0
        self._next_run: dict[str, float] = {}
        self._next_retry_check = 0.0
        self.keep_claims = False  # set by run(): only a long-running loop keeps partitions

    def run_periodic(self) -> float:
        """Run the registered jobs that are due; return seconds until the next one is."""
        now, wait = time.monotonic(), float("inf")
        for name, (seconds, job) in list(_periodic.items()):
            due = self._next_run.setdefault(name, now)
            if due <= now:
                try:
                    job()
                except Exception:  # a sweeper bug must not stop the relay
                    logger.exception("periodic job %s failed", name)
                due = self._next_run[name] = now + seconds
            wait = min(wait, due - now)
        return wait

    def run_once(self) -> int:
        """Drain each outbox, and run due retries (at most every ``RETRY_CHECK_SECONDS``:
        backoffs are seconds long, and a woken relay should not pay a query per wake for
        them); return how much moved."""
        moved, now = 0, time.monotonic()
        check_retries = now >= self._next_retry_check
        if check_retries:
            self._next_retry_check = now + RETRY_CHECK_SECONDS
        for store in all_stores():
            try:
                moved += drain(store, keep_claims=self.keep_claims)
            except PublishFailed as error:
                self.failures += 1
                logger.warning("relay: %s", error)
            if check_retries:
                moved += retries.retry_due(store)
        return moved + run_rounds()

    def run(self) -> None:
        gc.freeze()  # startup objects live as long as the relay: out of full GC passes
        self.keep_claims = True
        stores = all_stores()
        pg = [s.alias for s in stores if connections[s.alias].vendor == "postgresql"]
        if self.listen and pg:
            _PostgresListener(sorted(set(pg)), self.wake)
        while not self.stopping.is_set():
            close_old_connections()
            self.failures = 0
            try:
                moved = self.run_once()
            except Exception:  # database restarting: keep the loop alive
                logger.exception("bus worker round failed")
                moved, self.failures = 0, self.failures + 1
            next_job = self.run_periodic()
            if moved and not self.failures:  # deliveries in this process may have written more
                continue
            timeout = bus_config().sweep_seconds if not self.failures else 1.0
            timeout = max(0.0, min(timeout, next_job))
            testing_hooks.pause_point("worker.idle")
            self.wake.wait(timeout)
            self.wake.clear()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()


_in_process: BusWorker | None = None
_lock = threading.Lock()


def ensure_in_process_worker(**_) -> BusWorker | None:
    """Start the in-process relay thread once (one-process development)."""
    global _in_process
    if _in_process is not None or not bus_config().in_process:
        return _in_process
    with _lock:
        if _in_process is None:
            worker = BusWorker()
            on_outbox_commit(lambda alias: worker.wake.set())
            threading.Thread(target=worker.run, name="edn-bus", daemon=True).start()
            _in_process = worker
    return _in_process
