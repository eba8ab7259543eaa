"""The Celery app of bench/e2e.py's consumer: ``config.celery``'s app, plus a commit clock.

Started as ``python -m celery -A bench.e2e_worker worker ...`` instead of ``-A config.celery``.
It is the same app (same settings, same ``EventConsumerStep``); the only addition is a thin
wrapper around ``edn_core.bus.dispatch.deliver`` that appends ``<event id> <unix time>`` to the
file named by ``EDN_BENCH_COMMIT_LOG`` when ``deliver`` returned -- that is, after the
handler's transaction (inbox row + order update) committed and before the message is acked.
The wrapper costs one ``json.loads`` of the envelope and one line-buffered write per event
(a few microseconds, against milliseconds per delivery).
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
    from edn_core.bus import dispatch

    deliver = dispatch.deliver
    log = open(os.environ["EDN_BENCH_COMMIT_LOG"], "a", buffering=1)  # noqa: SIM115
    atexit.register(log.close)

    def timed_deliver(envelope, **kwargs):
        outcome = deliver(envelope, **kwargs)
        committed = time.time()
        log.write(f"{json.loads(envelope).get('id', '?')} {committed:.6f}\n")
        return outcome

    dispatch.deliver = timed_deliver  # celery_consumer imports it when its consumers start
