"""Every stream processor of the apps a process hosts, a thread each, until one stop event is
set: ``manage.py edn_streams run --all``, the streams process of a deployed service.

Each thread runs ``runtime.run`` (which retries a failed round itself, after a growing wait);
an error that ends a run anyway (the log cannot be opened, the leases cannot be taken) is
logged and that processor starts again after a wait that doubles while its runs keep failing
before completing a round. The others go on. Progress is a line per processor now and then
(``Report``), not a progress bar.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connections

from edn_core.streams import processors as registry
from edn_core.streams.feed import log_for
from edn_core.streams.processors import Processor

__all__ = ["Report", "hosted", "run_hosted"]

logger = logging.getLogger(__name__)
REPORT_EVERY = 30.0  # seconds between a processor's lines while it applies entries
RESTART_FIRST, RESTART_MAX = 1.0, 60.0  # the wait before a processor whose run failed restarts

Say = Callable[[str], None]


def hosted() -> list[Processor]:
    """The declared processors of the apps this process hosts (``EDN_SERVICES``), by name."""
    return [p for p in registry.processors() if p.app_label in settings.EDN_SERVICES]


def run_hosted(
    found: list[Processor], stop: threading.Event, *, say: Say, consumer: str | None = None
) -> dict[str, int]:
    """Run each of ``found`` in a thread of its own until ``stop`` is set; return how many
    entries each applied. ``say(line)`` is called from the threads, one line at a time."""
    lock, totals = threading.Lock(), {}

    def said(line: str) -> None:
        with lock:
            say(line)

    threads = [
        threading.Thread(
            target=keep_running,
            args=(processor, stop, Report(processor.name, said), totals, consumer),
            name=f"edn-streams-{processor.name}",
            daemon=True,
        )
        for processor in found
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {p.name: totals.get(p.name, 0) for p in found}


def keep_running(
    processor: Processor,
    stop: threading.Event,
    report: Report,
    totals: dict[str, int],
    consumer: str | None = None,
) -> None:
    """Run ``processor`` until ``stop``, starting it again whenever a run fails."""
    from edn_core.streams import runtime

    failures = 0
    try:
        while not stop.is_set():
            rounds = report.rounds
            try:
                log = log_for(processor.app_label, processor.stream)
                report.say(
                    f"{processor.name}: {processor.stream} ({log.name} log), "
                    f"group {processor.group}"
                )
                runtime.run(processor, log, stop=stop, progress=report, consumer=consumer)
            except Exception:
                failures = 1 if report.rounds > rounds else failures + 1
                wait = min(RESTART_FIRST * 2 ** (failures - 1), RESTART_MAX)
                logger.exception("processor %s stopped; again in %.3gs", processor.name, wait)
                connections.close_all()
                stop.wait(wait)
            finally:
                report.finish()
                totals[processor.name] = report.applied
    finally:
        connections.close_all()


class Report:
    """A processor's progress as a line now and then: every ``REPORT_EVERY`` seconds while it
    applies entries, and whenever it caught up (nothing left, or a round read nothing) after
    applying some. Counts over every run of the processor in this process."""

    def __init__(self, name: str, say: Say) -> None:
        self.name, self.say = name, say
        self.rounds, self.applied, self.before, self.shown, self.at = 0, 0, 0, 0, 0.0

    def __call__(self, progress) -> None:
        self.rounds += 1
        self.applied = self.before + progress.done
        caught_up = progress.lag == 0 or not progress.round.consumed
        due = caught_up or time.monotonic() - self.at >= REPORT_EVERY
        if self.applied == self.shown or not due:
            return
        if caught_up:
            behind = "caught up"
        else:
            behind = "catching up" if progress.lag is None else f"{progress.lag:,} behind"
        self.say(f"{self.name}: {self.applied:,} entries applied, {behind}")
        self.shown, self.at = self.applied, time.monotonic()

    def finish(self) -> None:
        """A run ended: the next one counts on from here."""
        self.before = self.applied
