"""The bus part of bench/observability.py: events end to end through outbox, relay, RabbitMQ
and the consumer (bench/e2e.py's saturation phase: ``--saturation-events`` written in one
transaction, events/s from its commit to the consumer's last commit), the relay and the
worker started again for each variant with its environment (and warmed up: bench/e2e.py's
warm-up), the variants in turn, round
after round, the order rotating."""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from bench.common import say
from bench.e2e_observer import Observer
from bench.e2e_phases import run_preload, warm_up
from bench.e2e_run import Run, set_up, tear_down
from tests.support.deployment import RELAY

__all__ = ["run_bus"]


def run_bus(args, variants: dict[str, dict]) -> dict[str, dict]:
    """Run the phases; return per variant ``{"rate", "cpu_us"}`` (medians over the rounds;
    CPU of relay and worker per event)."""
    d = Run(args, Path(tempfile.mkdtemp(prefix="edn-bench-obs-bus-")))
    observe = Observer(d)
    names = list(variants)
    runs = [f"{i}-{r}" for r in range(args.bus_rounds) for i in range(len(names))]
    phases = ["fixed", *runs, *(f"warm-{run}" for run in runs)]  # a customer group each
    rates: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    total: dict[str, list[float]] = {name: [] for name in names}
    keep_logs = True
    try:
        groups, _ = set_up(d, phases)
        running: list = []
        for round_ in range(args.bus_rounds):
            order = names[round_ % len(names) :] + names[: round_ % len(names)]
            for name in order:
                for process in running:  # the previous variant's
                    process.stop()
                    d.children.remove(process)
                d.deployment.overrides.update(variants[name])
                running = [d.start_relay(), d.start_worker()]
                run = f"{names.index(name)}-{round_}"
                warm_up(d, observe, groups[f"warm-{run}"])  # started afresh: warm it up
                group = groups[run]
                phase = run_preload(d, observe, group, consumer=True)
                spent = phase.cpu.get("relay", 0.0) + phase.cpu.get("worker", 0.0)
                rates[name].append(phase.rate)
                cpu[name].append(1e6 * spent / max(phase.cpu_events, 1))
                # every process the events pass through: producer, relay, worker, PostgreSQL,
                # RabbitMQ (not this process: the trace sink stands for a collector elsewhere)
                everything = sum(v for k, v in phase.cpu.items() if k not in ("wall", "bench"))
                total[name].append(1e6 * everything / max(phase.cpu_events, 1))
                say(f"  round {round_ + 1}/{args.bus_rounds} {name}: {phase.rate:,.0f} events/s")
        d.start("orders", "relay", RELAY)  # its bus worker brings the orders list up to date
        problems = observe.check_outcomes()
        if problems:
            raise RuntimeError("; ".join(problems))
        keep_logs = False
    finally:
        tear_down(d, keep_logs)
    return {
        name: {
            "rate": statistics.median(rates[name]),
            "cpu_us": statistics.median(cpu[name]),
            "total_cpu_us": statistics.median(total[name]),
            # each round's rate over the first variant's in that round (the tables grow from
            # round to round, and every phase is slower than the one before)
            "paired": statistics.median(
                a / b for a, b in zip(rates[name], rates[names[0]], strict=True)
            ),
        }
        for name in names
    }
