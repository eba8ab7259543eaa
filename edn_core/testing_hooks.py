"""Pause points: a process stops at a named point of its work until the test lets it go.

Crash and takeover tests need a process stopped at a known moment (a batch claimed but not
published, a delivery committed but not acked) instead of racing it with a timer. Library
code marks such moments::

    testing_hooks.pause_point("relay.claimed", store.alias)  # point "relay.claimed.customers"

They are no-ops unless the process starts with ``EDN_PAUSE_DIR`` naming a folder (read once,
at import: a point costs one empty call when off). The test drives them through files in
that folder, with :class:`PausePoints`: it *arms* a point (the file ``<point>``, its text
the number of passes to let through first), the process that reaches it writes
``<point>.paused`` (its pid) and waits until the test *releases* it (deletes ``<point>``)
or kills it there.

Points in the library: ``relay.claimed.<alias>`` (partitions claimed, nothing read yet),
``relay.published.<alias>`` (a batch published, not marked sent yet),
``worker.idle`` (a bus worker's round is over, it is about to wait for a wake-up),
``consumer.before_ack.<app>`` (a delivery batch committed, its messages not acked yet),
``streams.consumed.<processor>`` (a stream processor's batch read, nothing written),
``streams.writing.<processor>`` (its transaction open, not committed),
``streams.committed.<processor>`` (committed in the database, the log's offsets not yet).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["PausePoints", "pause_point"]

POLL_SECONDS = 0.02


def _name(point: str, scope: tuple[str, ...]) -> str:
    return ".".join((point, *scope))


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(text)
    partial.replace(path)


def _off(point: str, *scope: str) -> None:
    return None


def _pause(point: str, *scope: str) -> None:
    """Stop here while the test has this point armed (see the module's docstring)."""
    armed = _DIR / _name(point, scope)
    try:
        passes = armed.read_text().strip()
    except FileNotFoundError:
        return
    if passes and int(passes) > 0:
        _write_atomically(armed, str(int(passes) - 1))
        return
    paused = armed.with_name(f"{armed.name}.paused")
    _write_atomically(paused, str(os.getpid()))
    while armed.exists():
        time.sleep(POLL_SECONDS)
    paused.unlink(missing_ok=True)


_DIR = Path(os.environ["EDN_PAUSE_DIR"]) if os.environ.get("EDN_PAUSE_DIR") else None
pause_point = _pause if _DIR else _off


class PausePoints:
    """The test's side: arm points of processes started with :meth:`env`, wait until one is
    reached, release it. Waits end when the condition holds; their deadline only fails a run
    that is truly stuck."""

    def __init__(self, folder: Path, timeout: float = 180.0) -> None:
        self.folder, self.timeout = Path(folder), timeout
        self.folder.mkdir(parents=True, exist_ok=True)

    def env(self) -> dict[str, str]:
        """Return the environment that turns the points on in a child process."""
        return {"EDN_PAUSE_DIR": str(self.folder)}

    def arm(self, point: str, *scope: str, after: int = 0) -> None:
        """Make the next process that passes ``point`` stop there, after ``after`` passes."""
        self.disarm(point, *scope)  # a stop left by a killed process is forgotten
        _write_atomically(self.folder / _name(point, scope), str(after))

    def paused(self, point: str, *scope: str) -> int | None:
        """Return the pid of the process stopped at ``point``, or None."""
        try:
            return int((self.folder / f"{_name(point, scope)}.paused").read_text())
        except FileNotFoundError:
            return None

    def wait_paused(self, point: str, *scope: str) -> int:
        """Wait until a process stops at ``point``; return its pid."""
        return self._until(lambda: self.paused(point, *scope), f"a process at {point}")

    def release(self, point: str, *scope: str) -> None:
        """Let the process stopped at ``point`` go on, and wait until it has."""
        (self.folder / _name(point, scope)).unlink(missing_ok=True)
        self._until(lambda: self.paused(point, *scope) is None, f"{point} to be left")

    def disarm(self, point: str, *scope: str) -> None:
        """Forget ``point``: its stopped process was killed there, or it was never reached."""
        for suffix in ("", ".paused"):
            (self.folder / f"{_name(point, scope)}{suffix}").unlink(missing_ok=True)

    def _until(self, condition, what: str):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(POLL_SECONDS)
        raise AssertionError(f"timed out waiting for {what} (pause points in {self.folder})")
