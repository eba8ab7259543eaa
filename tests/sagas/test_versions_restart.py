"""A saga definition's new version, deployed by a process restart, leaves the sagas in flight
on the version they started with."""

import json
import os
import subprocess
import sys

from tests.support.processes import ROOT

SCRIPT = ROOT / "tests" / "sagas" / "versions_script.py"


def run(phase: str, data_dir) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "EDN_DATA_DIR": str(data_dir),
        "EDN_SERVICES": "sagas,schema_registry",
        "EDN_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    env = {k: v for k, v in env.items() if not k.endswith("_DATABASE_URL")}  # SQLite files
    done = subprocess.run(
        [sys.executable, str(SCRIPT), phase],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_in_flight_saga_finishes_on_v1_after_a_restart_registers_v2(tmp_path):
    """Proves: a saga started on v1 by one process is continued by a fresh process that
    registers v2 (stock before credit) with v1's next command, and stays on v1, while the
    saga the new process starts runs on v2 and asks for stock first."""
    (started,) = run("v1", tmp_path).values()
    assert started == {"version": 1, "sent": ["v1.CustomerCreditReserveRequested"]}
    in_flight, new = run("v2", tmp_path).values()
    assert in_flight == {
        "version": 1,
        "sent": ["v1.CustomerCreditReserveRequested", "v1.InventoryReserveRequested"],
    }
    assert new == {"version": 2, "sent": ["v1.InventoryReserveRequested"]}
