"""Fault tests: services as separate OS processes on the real PostgreSQL and brokers, with the
database or the broker cut away, or the relay and the worker killed, under load.

``EDN_FAULT_EVENTS`` sets the number of events per scenario, ``EDN_FAULT_OUTAGE_SECONDS`` how
long each of the three outages lasts, ``EDN_FAULT_LOAD_SECONDS`` over how many seconds the
paced load spreads its events at most, ``EDN_FAULT_KILLS`` how many times the relay and the
worker are killed (CI: the defaults below, sized so the whole CI run stays within its
budget). The full size::

    EDN_FAULT_EVENTS=20000 EDN_FAULT_OUTAGE_SECONDS=10 EDN_FAULT_LOAD_SECONDS=60 \
        EDN_FAULT_KILLS=10 .venv/bin/python -m pytest tests/faults -p no:cacheprovider
"""

import os

import httpx

from tests.support.deployment import Deployment

EVENTS = int(os.environ.get("EDN_FAULT_EVENTS", "2000"))
OUTAGES = 3
OUTAGE_SECONDS = float(os.environ.get("EDN_FAULT_OUTAGE_SECONDS", "6"))
LOAD_SECONDS = float(os.environ.get("EDN_FAULT_LOAD_SECONDS", "40"))
KILLS = int(os.environ.get("EDN_FAULT_KILLS", "6"))


def readiness(deployment: Deployment) -> int | None:
    """The status ``/readyz`` answers now (None: no answer at all)."""
    try:
        return httpx.get(f"{deployment.url('app')}/readyz", timeout=30).status_code
    except httpx.TransportError:
        return None
