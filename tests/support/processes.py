"""Processes, ports and the machine they run on: what the multi-process tests and the benchmarks
(bench/) share.

It imports neither pytest nor Django, so a benchmark run as a script imports it as cleanly as a
test does. Waits are polls of a condition (a probe), never sleeps that hope it happened; their
deadline only ends a run that is stuck.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import platform
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
STOP_TIMEOUT_S = 25.0
POLL_S = 0.2


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (until someone binds it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(
    check: Callable,
    timeout: float,
    what: str,
    *,
    progress: Callable[[], str] | None = None,
    every: float = 2.0,
    since: float = 0.0,
    tick: Callable[[], object] | None = None,
):
    """Poll ``check`` until it returns something truthy, and return that; raise
    :class:`TimeoutError` naming ``what`` after ``timeout`` seconds. Every ``every`` seconds
    print ``progress()`` with the seconds since ``since`` (a ``time.monotonic()``; default:
    now); call ``tick()`` before each poll."""
    now = time.monotonic()
    started = since or now
    deadline, next_print = now + timeout, now + every
    while True:
        if tick is not None:
            tick()
        value = check()
        if value:
            return value
        now = time.monotonic()
        if now > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        if progress is not None and now >= next_print:
            print(f"  {now - started:6.1f}s  {progress()}", flush=True)
            next_print += every
        time.sleep(POLL_S)


def http_ok(url: str, timeout: float = 10) -> bool:
    """Whether ``GET url`` answers 200 now (a readiness probe: False while nothing answers)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path or "/")
        response = conn.getresponse()
        response.read()
        return response.status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


class Service:
    """A process started in a session of its own, its output appended to a log file.

    Ctrl-C reaches only whoever started it, which stops it: SIGTERM (graceful: a relay finishes
    its batch, a worker acks, gunicorn ends its requests), then SIGKILL of its whole session.
    """

    def __init__(self, name: str, command: list[str], env: dict, log_path: Path) -> None:
        self.name, self.command, self.env, self.log_path = name, command, env, log_path
        self.process: subprocess.Popen | None = None
        self.stopping = False

    def start(self) -> Service:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def poll(self) -> int | None:
        return self.process.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self.process.wait(timeout)

    def send_signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def kill(self) -> None:
        """SIGKILL the process alone (no chance to clean up), as a crash would; reap it."""
        self.process.kill()
        self.process.wait(timeout=30)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exited(self) -> bool:
        """Whether it ended on its own (not stopped by :meth:`stop`)."""
        return self.process is not None and not self.stopping and self.process.poll() is not None

    def check(self) -> None:
        """Raise if it exited on its own, with the end of its log."""
        if self.exited():
            raise RuntimeError(
                f"{self.name} exited with {self.process.returncode}; see {self.log_path}:\n"
                f"{self.tail()}"
            )

    def wait_ready(self, probe: Callable[[], object], timeout: float, what: str) -> Service:
        """Wait until ``probe()`` is truthy; fail at once if the process exits meanwhile."""
        wait_for(lambda: self.check() or probe(), timeout, what)
        return self

    def terminate(self) -> None:
        if self.alive() and not self.stopping:
            self.process.send_signal(signal.SIGTERM)
        self.stopping = True

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        self.terminate()
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # the session it was started in
            self.process.wait(timeout=10)

    def tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or what the platform module knows."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine_summary(
    libraries: dict[str, str], *servers: str, load_average: bool = False, commit: bool = False
) -> str:
    """What a benchmark prints first: ``machine:`` (cores, CPU model, kernel, optionally the
    load average) and ``software:`` lines -- Python, each library (label -> distribution name)
    at its installed version, then ``servers`` -- and optionally ``commit:`` (the checkout and
    the time)."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    software = [f"{label} {version(name)}" for label, name in libraries.items()]
    lines = [
        f"machine: {os.cpu_count()} cores ({cpu_model()}), {platform.system()} "
        f"{platform.release()}" + (f", load average {load}" if load_average else ""),
        ", ".join([f"software: Python {platform.python_version()}", *software, *servers]),
    ]
    if commit:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        lines.append(f"commit: {described or '?'}, {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    return "\n".join(lines)
