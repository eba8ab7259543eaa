"""The event-sourcing suites once more on the backend this run is not on, in one subprocess:
on SQLite runs every alias on PostgreSQL (databases ``edn_es_*``), on PostgreSQL runs (CI)
every alias on SQLite. So every run proves the store contract, the projection runner,
sealing / forgetting (with the dump holding no plaintext) and the streams' database log
contract on both backends."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from tests.support.postgres import PG, postgres_or_skip

ROOT = Path(__file__).resolve().parents[3]
ONLY = "not redis and not nats"  # no test of the event-sourcing suites is named so
SUITES = [
    "tests/edn_core/eventsourcing/test_store_contract.py",
    "tests/edn_core/eventsourcing/test_projections.py",
    "tests/edn_core/eventsourcing/test_readmodels.py",
    "tests/edn_core/eventsourcing/test_personal_sealing.py",
    "tests/edn_core/eventsourcing/test_personal_forget.py",
    "tests/orders/test_forget.py",
    # the streams contract of the database log (its Redis and NATS runs need no other backend)
    "tests/edn_core/streams/test_contract.py",
]
# pytest without two plugins none of them uses, whose loading is much of a pytest start-up
PYTEST = ["-m", "pytest", "-q", "-p", "no:cacheprovider"]
PYTEST += ["-p", "no:schemathesis", "-p", "no:hypothesispytest"]


def test_event_sourcing_suites_on_the_other_backend():
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    if not settings.DATABASES["orders"]["ENGINE"].endswith("postgresql"):
        postgres_or_skip()
        env |= {f"{a.upper()}_DATABASE_URL": f"{PG}/edn_es_{a}" for a in settings.DATABASES}
    run = subprocess.run(
        [sys.executable, *PYTEST, "-k", ONLY, *SUITES],
        cwd=ROOT,
        env=env | {"DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        timeout=900,  # a deadlock guard, not a measure
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "skipped" not in run.stdout, run.stdout[-2000:]
