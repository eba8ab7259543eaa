"""The event phases of bench/e2e.py: the warm-up, the fixed load, saturation end to end and
with the relay alone, the consumer alone, and deliver() alone in one process."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from bench.common import say
from bench.e2e_measure import Phase, cpu_delta, ms
from bench.e2e_observer import Observer
from bench.e2e_run import PYTHON, Run
from tests.support.processes import wait_for

WARMUP_RATE, WARMUP_SECONDS = 100, 3


def _spread(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    return f"{label} {ms(ordered)}"


def warm_up(d: Run, observe: Observer, customers: Path) -> None:
    """Events through the whole path before anything is measured, as a service that has been
    running would have had: connections opened, schemas fetched and validators compiled,
    statements prepared, code paths loaded (the first second of a cold start otherwise
    dominates the fixed load's p99)."""
    events = WARMUP_RATE * WARMUP_SECONDS
    say(f"[warm-up] {events} events at {WARMUP_RATE}/s through relay and worker (not measured)")
    before = observe.inbox_count()
    d.roles_helper(
        "customers",
        "offer",
        "--customers",
        str(customers),
        "--rate",
        str(WARMUP_RATE),
        "--seconds",
        str(WARMUP_SECONDS),
    )
    wait_for(lambda: observe.inbox_count() >= before + events, 60, "the warm-up events")


def run_fixed(d: Run, observe: Observer, customers: Path) -> Phase:
    args = d.args
    phase = Phase(f"fixed load {args.rate:g} events/s for {args.seconds:g}s")
    say(f"[fixed] offering {args.rate:g} events/s for {args.seconds:g}s (relay + worker running)")
    after, inbox_before = observe.last_outbox_id(), observe.inbox_count()
    total = round(args.rate * args.seconds)
    out = d.workdir / "offer.json"
    cpu_start = d.cpu.snapshot()
    producer = d.start(
        "customers",
        "producer",
        [
            PYTHON,
            "bench/e2e_roles.py",
            "offer",
            "--customers",
            str(customers),
            "--rate",
            str(args.rate),
            "--seconds",
            str(args.seconds),
            "--out",
            str(out),
        ],
    )
    line, since = observe.progress(after, inbox_before), time.monotonic()
    wait_for(
        lambda: producer.poll() is not None,
        args.seconds * 3 + 120,
        "the producer",
        progress=line,
        tick=d.cpu.sample,
        since=since,
    )
    if producer.poll() != 0:
        raise RuntimeError(f"the producer failed:\n{producer.tail()}")
    offered = json.loads(out.read_text())
    wait_for(
        lambda: observe.inbox_count() - inbox_before >= offered["events"],
        args.phase_timeout,
        "the consumer to catch up",
        progress=line,
        tick=d.cpu.sample,
        since=since,
    )
    phase.cpu = cpu_delta(cpu_start, d.cpu.snapshot())
    events = observe.consumed(observe.events(after))
    phase.events = phase.cpu_events = len(events)
    created = [e["created"] for e in events]
    committed = [e["committed"] for e in events]
    offered_rate = (len(events) - 1) / (max(created) - min(created))
    phase.rate = len(events) / (max(committed) - min(created))
    phase.latency = [e["committed"] - e["created"] for e in events]
    phase.notes += [
        f"offered {offered_rate:.1f} events/s achieved of {args.rate:g} planned "
        f"({offered['events']}/{total} events in {offered['transactions']} transactions; "
        f"producer behind schedule p99 {offered['lag_p99_ms']:.1f} ms, "
        f"max {offered['lag_max_ms']:.1f} ms)",
        _spread("created -> relay sent_at      ", [e["sent"] - e["created"] for e in events]),
        _spread("created -> inbox processed_at ", [e["processed"] - e["created"] for e in events]),
        _spread("created -> consumer commit    ", phase.latency),
        _worst_seconds(events),
    ]
    phase.offered_rate = offered_rate
    (d.workdir / "fixed-events.json").write_text(json.dumps(events))
    return phase


def _worst_seconds(events: list[dict], top: int = 3) -> str:
    """Where the tail sits in time: the seconds of the phase (by creation) whose events had
    the highest p99 latency, with that p99 -- a burst shows as one or two bad seconds, steady
    contention as many similar ones."""
    start = min(e["created"] for e in events)
    by_second: dict[int, list[float]] = {}
    for e in events:
        by_second.setdefault(int(e["created"] - start), []).append(e["committed"] - e["created"])
    p99s = {}
    for second, values in by_second.items():
        values.sort()
        p99s[second] = values[max(0, math.ceil(0.99 * len(values)) - 1)] * 1e3
    worst = sorted(p99s.items(), key=lambda item: -item[1])[:top]
    median = sorted(p99s.values())[len(p99s) // 2]
    listed = ", ".join(f"{second}s: {value:.0f} ms" for second, value in worst)
    return f"p99 per second of the phase: median {median:.0f} ms; worst {listed}"


def run_preload(d: Run, observe: Observer, customers: Path, *, consumer: bool) -> Phase:
    args = d.args
    name = "saturation, end to end" if consumer else "relay alone (worker stopped)"
    phase = Phase(name)
    say(f"[{name}] {args.saturation_events} events written in one transaction")
    after, inbox_before = observe.last_outbox_id(), observe.inbox_count()
    cpu_start = d.cpu.snapshot()
    loaded = d.roles_helper(
        "customers",
        "preload",
        "--customers",
        str(customers),
        "--count",
        str(args.saturation_events),
    )
    line = observe.progress(after, inbox_before)
    if consumer:
        wait_for(
            lambda: observe.inbox_count() - inbox_before >= loaded["events"],
            args.phase_timeout,
            "every event to be consumed",
            progress=line,
            tick=d.cpu.sample,
        )
    else:
        wait_for(
            lambda: observe.outbox_counts(after)[1] >= loaded["events"],
            args.phase_timeout,
            "every event to be sent",
            progress=line,
            tick=d.cpu.sample,
        )
    phase.cpu = cpu_delta(cpu_start, d.cpu.snapshot())
    events = observe.events(after)
    if consumer:
        observe.consumed(events)
    phase.events = phase.cpu_events = len(events)
    last_sent = max(e["sent"] for e in events)
    relay_rate = len(events) / (last_sent - loaded["committed"])
    phase.notes.append(
        f"relay: {relay_rate:.0f} events/s from the commit to the last sent_at "
        f"({last_sent - loaded['committed']:.2f}s; building and committing the "
        f"{len(events)} rows took {loaded['committed'] - loaded['started']:.2f}s before that)"
    )
    if consumer:
        phase.latency = [e["committed"] - e["created"] for e in events]
        last_commit = max(e["committed"] for e in events)
        phase.rate = len(events) / (last_commit - loaded["committed"])
        phase.notes.append(
            f"end to end: {phase.rate:.0f} events/s from the commit to the last consumer commit"
            f" ({last_commit - loaded['committed']:.2f}s)"
        )
    else:
        phase.rate = relay_rate
    phase.after_id = after
    return phase


def run_consumer_alone(d: Run, observe: Observer, relay_phase: Phase, inbox_before: int) -> Phase:
    phase = Phase("consumer alone (full queue)")
    say(f"[consumer alone] starting the worker on {relay_phase.events} queued events")
    d.start_worker()
    cpu_start = d.cpu.snapshot()  # after the worker's start-up (it already consumes)
    wait_for(
        lambda: observe.inbox_count() - inbox_before >= relay_phase.events,
        d.args.phase_timeout,
        "every queued event to be consumed",
        progress=observe.progress(relay_phase.after_id, inbox_before),
        tick=d.cpu.sample,
    )
    cpu_end = d.cpu.snapshot()
    phase.cpu = cpu_delta(cpu_start, cpu_end)
    events = observe.consumed(observe.events(relay_phase.after_id))
    commits = sorted(e["committed"] for e in events)
    phase.cpu_events = sum(1 for c in commits if cpu_start["time"] <= c <= cpu_end["time"])
    phase.events = len(events)
    span = commits[-1] - commits[0]
    if span <= 0:  # a small queue is consumed in one batch: one commit time, no rate
        phase.rate = float("nan")
        phase.notes.append(f"all {len(commits)} events in one commit: queue too small for a rate")
        return phase
    phase.rate = (len(commits) - 1) / span
    phase.notes.append(f"{phase.rate:.0f} events/s between its first and last commit")
    return phase


def probe_deliver(d: Run, customers: Path) -> dict:
    """deliver() in a loop in one orders process: the consumer's cost without broker/Celery."""
    count = d.args.deliver_events
    say(f"[deliver() alone] {count} envelopes through deliver() in one orders process")
    sample = d.workdir / "probe-envelopes.json"
    bodies = d.roles_helper(
        "customers", "sample", "--customers", str(customers), "--count", str(count)
    )
    sample.write_text(json.dumps(bodies))
    profile = []
    if d.args.profile:
        profile = ["--profile", str(Path(d.args.profile).resolve() / "deliver.prof")]
    result = d.roles_helper("orders", "deliver", "--envelopes", str(sample), *profile)
    say(
        f"  {1e3 / result['wall_ms']:.0f} events/s: per event {result['wall_ms']:.2f} ms wall, "
        f"{result['cpu_ms']:.2f} ms CPU in Python, {result['backend_cpu_ms']:.2f} ms CPU in its "
        f"PostgreSQL backend; {len(result['statements'])} statements through the ORM:"
    )
    for statement in result["statements"]:
        say(f"    {statement[:110]}{'...' if len(statement) > 110 else ''}")
    driver = result["driver_ms"]
    python = result["wall_ms"] - sum(driver.values())
    say(
        "  wall per event inside the database driver: "
        + ", ".join(f"{name} {value:.2f} ms" for name, value in driver.items())
        + f"; outside it (Python: ORM, dispatch, validation, handler) {python:.2f} ms"
    )
    return result
