"""Fault tests: services as separate OS processes on the real PostgreSQL and brokers, with the
database or the broker cut away, or the relay and the worker killed, under load.

``EDN_FAULT_EVENTS`` sets the number of events per scenario (CI: the default below, sized so
the whole CI run stays within its budget); the full size is 20,000::

    EDN_FAULT_EVENTS=20000 .venv/bin/python -m pytest tests/faults -p no:cacheprovider
"""

import os

import httpx

from tests.support.deployment import Deployment

EVENTS = int(os.environ.get("EDN_FAULT_EVENTS", "2000"))
OUTAGES, OUTAGE_SECONDS = 3, 10.0


def readiness(deployment: Deployment) -> int | None:
    """The status ``/readyz`` answers now (None: no answer at all)."""
    try:
        return httpx.get(f"{deployment.url('app')}/readyz", timeout=30).status_code
    except httpx.TransportError:
        return None
