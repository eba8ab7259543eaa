"""Writer processes the gap-safety tests drive step by step: each holds its own connection and
transaction, and does only what the test sends it (open, learn its transaction id, append,
commit), so transactions commit in the order the test chooses, not by timing."""

from __future__ import annotations

import multiprocessing
import uuid

from django.db import connections

from edn_core.domain import ConcurrencyConflict
from tests.edn_core.eventsourcing.store_contract import Counted, make_store

GUARD_SECONDS = 120  # a deadlock guard, not a measure


def _serve(pipe) -> None:
    store, atomic = make_store(), None
    try:
        while True:
            command, *args = pipe.recv()
            if command == "stop":
                return
            try:
                if command == "begin":
                    atomic = store.atomic()
                    atomic.__enter__()
                    pipe.send(("ok",))
                elif command == "xid":
                    with connections[store.alias].cursor() as cursor:
                        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
                        pipe.send(("ok", cursor.fetchone()[0]))
                elif command == "append":
                    stream, expected, by = args
                    event = Counted(aggregate_id=uuid.UUID(stream), by=by)
                    pipe.send(("ok", store.append(stream, expected, [event])[0].position))
                elif command == "commit":
                    atomic.__exit__(None, None, None)
                    atomic = None
                    pipe.send(("ok",))
            except ConcurrencyConflict:
                pipe.send(("conflict",))
    finally:
        connections.close_all()


class Writer:
    """One writer process; each call waits for its answer (a writer that blocks fails the
    test after ``GUARD_SECONDS`` instead of hanging it)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), daemon=True)
        self.process.start()

    def send(self, *command):
        self.pipe.send(command)
        return self

    def answer(self):
        if not self.pipe.poll(GUARD_SECONDS):
            raise AssertionError(f"writer {self.process.pid} did not answer {GUARD_SECONDS} s")
        return self.pipe.recv()

    def call(self, *command):
        answer = self.send(*command).answer()
        assert answer[0] == "ok", (command, answer)
        return answer[1] if len(answer) > 1 else None

    def stop(self) -> None:
        self.pipe.send(("stop",))
        self.process.join(GUARD_SECONDS)


def start_writers(n: int) -> list[Writer]:
    connections.close_all()  # a forked child must not share the parent's sockets
    return [Writer() for _ in range(n)]
