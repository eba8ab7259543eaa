"""Measurement of bench/e2e.py: latency spreads, the figures of a phase, and the CPU time of
each process group read from /proc (Linux)."""

from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench.common import percentile

if TYPE_CHECKING:
    from bench.e2e_run import Run


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    return (
        f"p50 {percentile(ordered, 0.5) * 1e3:7.1f} ms  p99 {percentile(ordered, 0.99) * 1e3:7.1f}"
        f" ms  max {ordered[-1] * 1e3 if ordered else math.nan:7.1f} ms"
    )


@dataclass
class Phase:
    name: str
    events: int = 0
    rate: float = math.nan  # events per second, as the phase defines it
    latency: list[float] = field(default_factory=list)  # created -> consumer commit, seconds
    notes: list[str] = field(default_factory=list)
    offered_rate: float = math.nan  # fixed load: the rate the producer achieved
    after_id: int = 0  # the last outbox id before the phase
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process group
    cpu_events: int = 0  # events the CPU seconds were spent on


# --- CPU accounting (Linux /proc) -----------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> tuple[tuple[int, int], float] | None:
    """((pid, start time), user + system CPU seconds) of one process; None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return (pid, int(fields[19])), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def pids_named(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
    return pids


CPU_GROUPS = ("relay", "worker", "postgres", "rabbitmq", "helpers", "bench")


class CpuTracker:
    """CPU seconds per process of each group, sampled about once a second while phases run, so
    that a process which exits in between (a PostgreSQL backend whose connection Django recycles
    after ``CONN_MAX_AGE``) still counts up to its last sample."""

    def __init__(self, run: Run) -> None:
        self.d = run
        self.probed = 0  # inbox rows of the in-process probe (events not in the outbox)
        self.seen: dict[str, dict] = {group: {} for group in CPU_GROUPS}
        self.last = 0.0

    def sample(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < 1.0:
            return
        self.last = now
        pids = {"postgres": pids_named("postgres"), "rabbitmq": pids_named("beam.smp")}
        for child in self.d.children:
            if child.name in ("relay", "worker") and child.alive():
                pids.setdefault(child.name, []).append(child.pid)
        for group, members in pids.items():
            for pid in members:
                found = process_cpu(pid)
                if found is not None:
                    self.seen[group][found[0]] = found[1]
        own = os.times()
        self.seen["helpers"][0] = own.children_user + own.children_system  # producer, preload
        self.seen["bench"][0] = own.user + own.system

    def snapshot(self) -> dict:
        self.sample(force=True)
        snap: dict = {group: dict(cpu) for group, cpu in self.seen.items()}
        snap.update(wall=time.monotonic(), time=time.time())
        return snap


def cpu_delta(start: dict, end: dict) -> dict[str, float]:
    """CPU seconds spent between two snapshots, per group (of a process that exited, up to its
    last sample; the backends of the short-lived helper processes are mostly missed)."""
    delta = {}
    for group in CPU_GROUPS:
        before = start[group]
        delta[group] = sum(max(0.0, cpu - before.get(key, 0.0)) for key, cpu in end[group].items())
    delta["wall"] = end["wall"] - start["wall"]
    return delta
