"""Helpers shared by the benchmarks: percentiles, a clean stop on SIGTERM (processes, ports and
the machine summary: tests/support/processes.py)."""

from __future__ import annotations

import math
import signal


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (``q`` in 0..1)."""
    if not sorted_values:
        return math.nan
    return float(sorted_values[max(1, math.ceil(q * len(sorted_values))) - 1])


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def stop_cleanly_on_sigterm() -> None:
    """Make SIGTERM the same clean stop as Ctrl-C (child processes and databases cleaned up)."""
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
