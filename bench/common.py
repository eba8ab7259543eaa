"""Helpers shared by the benchmarks: percentiles, the machine's CPU, a clean stop on SIGTERM."""

from __future__ import annotations

import contextlib
import math
import platform
import signal
from pathlib import Path


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (``q`` in 0..1)."""
    if not sorted_values:
        return math.nan
    return float(sorted_values[max(1, math.ceil(q * len(sorted_values))) - 1])


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or what the platform module knows."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def stop_cleanly_on_sigterm() -> None:
    """Make SIGTERM the same clean stop as Ctrl-C (child processes and databases cleaned up)."""
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
