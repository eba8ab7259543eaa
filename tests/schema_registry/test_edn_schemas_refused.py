"""``edn_schemas register`` when the registry refuses a schema file (incompatible with the
subject's history): the command exits non-zero naming the subject and the rule broken, and
the refused subject gains nothing (no version, no schema document); the compatible files
are registered as usual (the same document again adds nothing)."""

import json

import pytest
from django.db import connections

from edn_core.management.commands.edn_schemas import Command, schema_files
from schema_registry.models import Schema, SchemaVersion

pytestmark = pytest.mark.django_db(databases="__all__")
REFUSED = "v1.OrderShipped"


def test_register_refused_by_the_registry_exits_non_zero_and_registers_nothing_of_it(
    tmp_path, monkeypatch, capsys
):
    """A required property added to a registered subject breaks BACKWARD compatibility."""
    files = schema_files()
    broken = json.loads(files[REFUSED].read_text())
    broken["required"].append("trackingNumber")
    broken["properties"]["trackingNumber"] = {"type": "string"}
    path = tmp_path / f"{REFUSED}.json"
    path.write_text(json.dumps(broken))
    monkeypatch.setattr(
        "edn_core.management.commands.edn_schemas.schema_files",
        lambda: {**files, REFUSED: path},
    )
    versions = list(SchemaVersion.objects.order_by("pk").values_list("subject__name", "version"))
    documents = Schema.objects.count()
    assert (REFUSED, 1) in versions  # the registry holds its history (migrate_all did)

    # run_from_argv closes every connection when it ends, this test's (in its transaction) too
    monkeypatch.setattr(connections, "close_all", lambda: None)
    with pytest.raises(SystemExit) as exit:
        Command().run_from_argv(["manage.py", "edn_schemas", "register"])  # as manage.py does

    assert exit.value.code != 0
    out, err = capsys.readouterr()
    assert f"{REFUSED}: refused" in out
    assert f"{REFUSED}: " in err and "[required-added]" in err and "trackingNumber" in err
    assert "CommandError: 1 schema problem(s)" in err
    assert (
        list(SchemaVersion.objects.order_by("pk").values_list("subject__name", "version"))
        == versions
    )
    assert Schema.objects.count() == documents
