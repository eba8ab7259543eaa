"""The runner's tests once more on the backend the suite is not running on (like the store
contract): on SQLite runs every alias on PostgreSQL (databases ``edn_p_*``), on PostgreSQL
runs (CI) every alias on SQLite."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from tests.support.postgres import PG, postgres_or_skip

ROOT = Path(__file__).resolve().parents[3]
TESTS = "tests/edn_core/eventsourcing/test_projections.py"


def test_projection_runner_on_the_other_backend():
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    if not settings.DATABASES["orders"]["ENGINE"].endswith("postgresql"):
        postgres_or_skip()
        env |= {f"{a.upper()}_DATABASE_URL": f"{PG}/edn_p_{a}" for a in settings.DATABASES}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TESTS],
        cwd=ROOT,
        env=env | {"DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        timeout=600,  # a deadlock guard, not a measure
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "skipped" not in run.stdout, run.stdout[-2000:]
