"""``edn_schemas check`` guards readers before anything is registered: in CI it fails when a
change in this repository breaks a reader this repository declares, with no registry asked."""

import json
import os
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
SKIP = shutil.ignore_patterns(".git", ".venv", "data", ".cache", "__pycache__", ".coverage-data")


def test_this_repository_breaks_none_of_its_readers():
    """Every subscription declares a reader and every producer file satisfies its readers."""
    out = StringIO()
    call_command("edn_schemas", "check", "--offline", stdout=out)
    assert "this repository: 0 problem(s)" in out.getvalue()


def test_check_fails_on_a_breaking_change_in_a_copy_of_the_repository(tmp_path):
    """In a copy of the repository, orders' v1.OrderCancelled drops orderId: ``edn_schemas
    check --offline`` (no registry, no database) exits non-zero naming each consumer that
    reads it, the field and the rule."""
    copy = tmp_path / "repo"
    shutil.copytree(ROOT, copy, ignore=SKIP)
    producer = copy / "orders" / "schemas" / "v1.OrderCancelled.json"
    schema = json.loads(producer.read_text())
    schema["required"].remove("orderId")
    del schema["properties"]["orderId"]
    producer.write_text(json.dumps(schema, indent=2))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("_DATABASE_URL") and not key.startswith(("DJANGO_", "EDN_"))
    }
    env.update(DJANGO_DEBUG="1", EDN_DATA_DIR=str(tmp_path / "data"), EDN_LOG_LEVEL="WARNING")
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    done = subprocess.run(
        [sys.executable, "manage.py", "edn_schemas", "check", "--offline"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0, done.stdout + done.stderr
    for consumer in ("customers", "inventory"):
        assert f"reader {consumer}: field orderId [required-added]" in done.stderr, done.stderr
    assert "schema problem(s)" in done.stderr
