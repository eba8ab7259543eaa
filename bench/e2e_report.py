"""What bench/e2e.py prints about the machine first, and about the run at the end: the
baselines, the figures of each phase, the ratios, the targets and the profiles."""

from __future__ import annotations

import os
import pstats
from pathlib import Path

from kombu import Connection

from bench.common import percentile, say
from bench.e2e_baselines import BASELINES, Baselines
from bench.e2e_measure import Phase, ms
from tests.support.processes import machine_summary

LIBRARIES = {"Django": "django", "Celery": "celery", "kombu": "kombu", "psycopg": "psycopg"}


def summary(pg: str, broker: str) -> str:
    """The machine, the software and the servers, the checkout and the time."""
    with Connection(broker, connect_timeout=5) as conn:
        conn.ensure_connection(max_retries=1)
        props = getattr(conn.connection, "server_properties", {}) or {}
        server = f"{props.get('product', conn.transport_cls)} {props.get('version', '?')}"
    return machine_summary(LIBRARIES, f"{pg}; broker {server}", load_average=True, commit=True)


def report(
    before: Baselines, after: Baselines, phases: list[Phase], fixed: Phase, probe: dict, args
) -> tuple[bool, list[str]]:
    say("\n=== baselines (before / after / mean) ===")
    mean = Baselines()
    for name, label in BASELINES.items():
        a, b = getattr(before, name), getattr(after, name)
        setattr(mean, name, (a + b) / 2)
        say(f"{label:<50} {a:8.0f} {b:8.0f} {(a + b) / 2:8.0f} /s")
    say("\n=== events ===")
    for phase in phases:
        lat = f"  latency {ms(phase.latency)}" if phase.latency else ""
        say(f"{phase.name:<40} {phase.events:6d} events {phase.rate:8.0f} events/s{lat}")
        for note in phase.notes:
            say(f"    {note}")
        if phase.cpu and phase.cpu_events:
            per = {k: v / phase.cpu_events * 1e3 for k, v in phase.cpu.items() if k != "wall"}
            busy = sum(v for k, v in phase.cpu.items() if k != "wall") / phase.cpu["wall"]
            say(
                "    CPU ms per event: "
                + ", ".join(f"{k} {v:.2f}" for k, v in per.items())
                + f"; total {sum(per.values()):.2f} ms; {busy:.2f} of {os.cpu_count()} cores busy"
            )
    relay = next(p for p in phases if p.name.startswith("relay alone"))
    e2e = next(p for p in phases if p.name.startswith("saturation"))
    consumer = next(p for p in phases if p.name.startswith("consumer alone"))
    say_deliver(probe)
    say("\n=== ratios ===")
    say(f"relay alone / raw publish pipelined-confirm : {relay.rate / mean.publish_pipelined:.3f}x")
    say(f"consumer alone / raw consume                : {consumer.rate / mean.consume:.3f}x")
    say(f"consumer alone / raw one-row commit         : {consumer.rate / mean.pg_commit:.3f}x")
    rate = 1e3 / probe["wall_ms"]
    say(f"deliver() alone / raw one-row commit        : {rate / mean.pg_commit:.3f}x")
    say(f"consumer alone / deliver() alone            : {consumer.rate / rate:.3f}x")
    say("\n=== targets ===")
    verdicts = []

    def target(text: str, passed: bool | None, detail: str) -> None:
        verdict = "SKIP" if passed is None else "PASS" if passed else "FAIL"
        verdicts.append(f"{verdict}  {text}: {detail}")
        say(verdicts[-1])

    for text, passed, detail in deliver_targets(probe, mean.pg_commit):
        target(text, passed, detail)
    ratio = relay.rate / mean.publish_plain
    target(
        "relay with confirms >= 0.5x raw publish without confirms",
        ratio >= 0.5,
        f"{relay.rate:.0f} / {mean.publish_plain:.0f} = {ratio:.3f}x",
    )
    ratio = e2e.rate / mean.pg_commit
    target(
        "end-to-end >= 1.5x raw one-row PostgreSQL commit rate",
        ratio >= 1.5,
        f"{e2e.rate:.0f} / {mean.pg_commit:.0f} = {ratio:.3f}x",
    )
    p99 = percentile(sorted(fixed.latency), 0.99) * 1e3
    offered = fixed.offered_rate
    reached = offered >= 0.95 * args.rate
    target(
        "p99 <= 100 ms at 500 events/s offered",
        None if args.rate < 500 else p99 <= 100 and reached,
        f"p99 {p99:.1f} ms at {offered:.0f} events/s offered"
        + ("" if reached else " (the producer did not reach the planned rate)")
        + (" (below 500 events/s: not evaluated)" if args.rate < 500 else ""),
    )
    return not any(v.startswith("FAIL") for v in verdicts), verdicts


def say_deliver(probe: dict) -> None:
    say(
        f"{'deliver() alone, in-process (no broker)':<40} {probe['events']:6d} events "
        f"{1e3 / probe['wall_ms']:8.0f} events/s  ({probe['wall_ms']:.2f} ms wall, "
        f"{probe['cpu_ms']:.2f} ms Python CPU, {probe['backend_cpu_ms']:.2f} ms backend CPU, "
        f"{len(probe['statements'])} ORM statements per event)"
    )
    driver = probe["driver_ms"]
    say(
        "    wall ms per event in the driver: "
        + ", ".join(f"{name} {value:.2f}" for name, value in driver.items())
        + f"; outside it {probe['wall_ms'] - sum(driver.values()):.2f}"
    )


def deliver_targets(probe: dict, pg_commit: float) -> list[tuple[str, bool | None, str]]:
    """The single-event targets: Python CPU per event and the rate against raw commits.
    Not evaluated (None) under --profile, whose overhead inflates both."""
    profiled = bool(probe.get("profiled"))
    rate = 1e3 / probe["wall_ms"]
    note = " (under cProfile: not evaluated)" if profiled else ""
    return [
        (
            "deliver() alone <= 1.3 ms Python CPU per event",
            None if profiled else probe["cpu_ms"] <= 1.3,
            f"{probe['cpu_ms']:.2f} ms{note}",
        ),
        (
            "deliver() alone >= 0.25x raw one-row commit rate",
            None if profiled else rate / pg_commit >= 0.25,
            f"{rate:.0f} / {pg_commit:.0f} = {rate / pg_commit:.3f}x{note}",
        ),
    ]


def report_deliver(probe: dict, pg_commit: float, args) -> bool:
    """bench/e2e.py --deliver-only: the probe, its ratio and its targets; True if all hold."""
    say("\n=== deliver() alone ===")
    say_deliver(probe)
    say(f"raw one-row commits (mean of before/after) {pg_commit:8.0f} /s")
    say("\n=== targets ===")
    verdicts = []
    for text, passed, detail in deliver_targets(probe, pg_commit):
        verdicts.append(
            f"{'SKIP' if passed is None else 'PASS' if passed else 'FAIL'}  {text}: {detail}"
        )
        say(verdicts[-1])
    if args.profile:
        print_profiles(Path(args.profile))
    return not any(v.startswith("FAIL") for v in verdicts)


def print_profiles(directory: Path) -> None:
    for path in sorted(directory.glob("*.prof")):
        say(f"\n=== profile {path.name}: top functions by own time ===")
        try:
            stats = pstats.Stats(str(path))
        except (OSError, EOFError, TypeError) as error:
            say(f"  unreadable: {error}")
            continue
        stats.sort_stats("tottime").print_stats(22)
        say(f"=== profile {path.name}: by cumulative time ===")
        stats.sort_stats("cumulative").print_stats(30)
