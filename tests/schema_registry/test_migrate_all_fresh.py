"""``migrate_all`` on fresh databases nobody migrated (a newcomer's SQLite files in an empty
data directory, in a child process with the project's own settings): every alias the
settings define starts with every migration pending and ends with none pending and every
table its router sends there present."""

import json
import os
import subprocess
import sys
from pathlib import Path

from config.services import SERVICE_APPS

ROOT = Path(__file__).resolve().parents[2]
STATE = """
import json, os
import django
django.setup()
from django.apps import apps
from django.core.management import call_command
from django.db import connections, router
from django.db.migrations.executor import MigrationExecutor

def state():
    found = {}
    for alias in connections:
        connection = connections[alias]
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        expected = {
            model._meta.db_table
            for model in apps.get_models()
            if model._meta.managed and router.allow_migrate_model(alias, model)
        }
        missing = expected - set(connection.introspection.table_names())
        found[alias] = dict(pending=len(pending), tables=len(expected), missing=sorted(missing))
    return found

before = state()
with open(os.devnull, "w") as quiet:
    call_command("migrate_all", "--no-schemas", stdout=quiet)
print(json.dumps({"before": before, "after": state()}))
"""


def test_migrate_all_on_fresh_databases_migrates_every_alias_and_creates_its_tables(tmp_path):
    """Every alias, not only those another test's setup had migrated already."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_DATABASE_URL") and not k.startswith(("DJANGO_", "EDN_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings", DJANGO_DEBUG="1", EDN_DATA_DIR=str(tmp_path)
    )
    result = subprocess.run(
        [sys.executable, "-c", STATE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    state = json.loads(result.stdout.strip().splitlines()[-1])
    aliases = {"default", *SERVICE_APPS}
    assert set(state["before"]) == set(state["after"]) == aliases
    for alias in sorted(aliases):
        before, after = state["before"][alias], state["after"][alias]
        assert before["pending"] > 0 and before["missing"], f"{alias} was not fresh: {before}"
        assert after["tables"] > 0, f"no model is routed to {alias}"
        assert (after["pending"], after["missing"]) == (0, []), f"{alias}: {after}"
    assert {p.stem for p in tmp_path.glob("*.sqlite3")} == aliases
