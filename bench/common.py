"""Helpers shared by the benchmarks: progress lines, percentiles, a clean stop on SIGTERM.
Processes, ports and the machine summary: tests/support/processes.py."""

from __future__ import annotations

import argparse
import math
import os
import signal


def say(message: str = "") -> None:
    print(message, flush=True)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (``q`` in 0..1)."""
    if not sorted_values:
        return math.nan
    return float(sorted_values[max(1, math.ceil(q * len(sorted_values))) - 1])


def add_postgres_option(parser: argparse.ArgumentParser) -> None:
    """``--postgres URL``: the server the benchmark creates its databases on."""
    parser.add_argument(
        "--postgres",
        default=os.environ.get("EDN_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"),
        help="server URL without database (default: $EDN_BENCH_POSTGRES or local trust auth)",
    )


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def stop_cleanly_on_sigterm() -> None:
    """Make SIGTERM the same clean stop as Ctrl-C (child processes and databases cleaned up)."""
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
