"""Writer processes for bench/eventsourcing.py: the same appends as its thread cases, each writer
in its own process (forked after setup), so that neither side is bound by one interpreter's
lock: what is left is the database — for the library, its ``LOCK TABLE … IN EXCLUSIVE MODE``
held through each commit; for ours, nothing shared between writers of different streams.

Each child opens its own connections, waits on a start event, runs its loop and sends back the
versions its streams reached (the parent's copies are then brought up to date, for the next
round and the final check). Wall time runs from the start event to the last child's result.
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import signal
import time
import traceback
from collections.abc import Callable

__all__ = ["run_processes"]

DEADLOCK_GUARD = 600  # seconds: ends a stuck run, never the measure


def run_processes(
    groups: list[list], setup: Callable[[], object], work: Callable, per_group: int
) -> tuple[float, list[list[int]]]:
    """``work(setup(), group, per_group)`` in one forked process per group, started together;
    return the wall seconds and, per group, what ``work`` returned (its streams' versions)."""
    from django.db import connections

    connections.close_all()  # a child must not share the parent's sockets
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    pipes = [ctx.Pipe(duplex=False) for _ in groups]  # sends are synchronous: nothing lost

    def child(index: int, group: list) -> None:
        out = pipes[index][1]
        faulthandler.register(signal.SIGUSR1)  # where a stuck writer is: kill -USR1 <pid>
        try:
            state = setup()
            out.send(("ready", None))
            start.wait(DEADLOCK_GUARD)
            out.send(("done", work(state, group, per_group)))
        except BaseException:
            out.send(("error", traceback.format_exc()))
        finally:
            connections.close_all()
            os._exit(0)

    def receive(index: int) -> tuple[str, object]:
        if not pipes[index][0].poll(DEADLOCK_GUARD):
            raise RuntimeError(f"writer process {index} is stuck")
        return pipes[index][0].recv()

    processes = [ctx.Process(target=child, args=(i, g), daemon=True) for i, g in enumerate(groups)]
    for process in processes:
        process.start()
    try:
        found = [receive(i) for i in range(len(groups))]
        if all(kind == "ready" for kind, _ in found):
            began = time.perf_counter()
            start.set()
            found = [receive(i) for i in range(len(groups))]
            elapsed = time.perf_counter() - began
    finally:
        for process in processes:
            if not start.is_set():  # a child failed its set-up: the others wait for nothing
                process.terminate()
            process.join(DEADLOCK_GUARD)
    errors = [str(value) for kind, value in found if kind != "done"]
    if errors:
        raise RuntimeError(f"a writer process failed:\n{errors[0]}")
    return elapsed, [versions for _, versions in found]
