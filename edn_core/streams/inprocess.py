"""Stream processors in the one-process server (``scripts/run``: the in-process bus worker):
each round of the bus worker also runs one batch of every registered processor whose app the
process hosts, so statistics follow the events with no other process. A deployment of
separate services runs them as ``manage.py edn_streams run NAME`` processes instead.
"""

from __future__ import annotations

import logging

from django.db import connections

from edn_core.streams.feed import log_for
from edn_core.streams.hosted import hosted
from edn_core.streams.runtime_runner import Runner

__all__ = ["run_hosted_round"]

logger = logging.getLogger(__name__)
_runners: dict[str, Runner] = {}


def run_hosted_round() -> int:
    """One batch of each hosted processor; how many entries they read."""
    moved = 0
    for processor in hosted():
        runner = _runners.get(processor.name)
        if runner is None:
            runner = _runners[processor.name] = Runner(
                processor, log_for(processor.app_label, processor.stream)
            )
        try:
            moved += runner.run_once().consumed
        except Exception:
            logger.exception("stream processor %s failed; it starts again", processor.name)
            _runners.pop(processor.name, None)
            runner.close()
            connections[processor.alias].close()
    return moved
