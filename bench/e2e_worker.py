"""The Celery app of bench/e2e.py's consumer: ``config.celery``'s app, plus a commit clock.

Started as ``python -m celery -A bench.e2e_worker worker ...`` instead of ``-A config.celery``.
It is the same app (same settings, same ``EventConsumerStep``); the only addition is a thin
wrapper around ``edn_core.bus.batch.deliver_batch`` that appends ``<event id> <unix time>``
per event to the file named by ``EDN_BENCH_COMMIT_LOG`` when ``deliver_batch`` returned --
that is, after the batch's transaction (inbox rows + order updates) committed and before the
messages are acked. The wrapper costs one ``json.loads`` of each message (a structured event,
or a batch of them) and one line-buffered write per event (a few microseconds per event).
"""

from __future__ import annotations

import atexit
import json
import os
import time

from celery import signals

from config.celery import app

__all__ = ["app"]


@signals.worker_init.connect
def _install_commit_clock(**_) -> None:
    import django

    django.setup()  # idempotent; the Django fixup may not have run yet
    from edn_core.bus import batch

    deliver_batch = batch.deliver_batch
    log = open(os.environ["EDN_BENCH_COMMIT_LOG"], "a", buffering=1)  # noqa: SIM115
    atexit.register(log.close)

    def timed_deliver_batch(envelopes, **kwargs):
        envelopes = list(envelopes)
        outcome = deliver_batch(envelopes, **kwargs)
        committed = time.time()
        log.write("".join(f"{i} {committed:.6f}\n" for e in envelopes for i in _ids(e)))
        return outcome

    batch.deliver_batch = timed_deliver_batch  # the consumer step imports it per flush


def _ids(message) -> list[str]:
    parsed = json.loads(message)
    events = parsed if isinstance(parsed, list) else [parsed]
    return [event.get("id", "?") if isinstance(event, dict) else "?" for event in events]
