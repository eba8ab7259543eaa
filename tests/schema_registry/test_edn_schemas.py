"""``edn_schemas``: register the apps' schema files, and check them against released history."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from edn_core.schema_files import declared_readers, released_history, schema_files
from schema_registry.models import Reader, SchemaVersion, Subject

pytestmark = pytest.mark.django_db(databases="__all__")


def fresh_registry():
    Reader.objects.all().delete()
    SchemaVersion.objects.all().delete()
    Subject.objects.all().delete()


def test_every_published_topic_has_a_schema_file():
    from edn_core.events import published_topics

    assert set(published_topics()) <= set(schema_files())


def test_register_shows_progress_and_is_idempotent():
    """Producer schemas first, then every declared reader, each line counted; again, nothing
    changes (every file keeps version 1, every reader its schema)."""
    fresh_registry()
    total = len(schema_files()) + len(
        [doc for _, doc in declared_readers().values() if isinstance(doc, dict)]
    )
    out = StringIO()
    call_command("edn_schemas", "register", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == total and lines[0].startswith(f"[1/{total}] ")
    assert "version 1" in lines[0] and "reader registered" in lines[-1]
    again = StringIO()
    call_command("edn_schemas", "register", stdout=again)
    assert again.getvalue() == out.getvalue()
    assert Reader.objects.count() == total - len(schema_files())


def test_files_are_compatible_with_the_released_history():
    """What CI guards: a registry seeded with every released version accepts today's files."""
    fresh_registry()
    from edn_core import schemas

    registry = schemas.source()
    for subject, file in schema_files().items():
        history = released_history(file)
        assert history, f"{subject} was never released: run manage.py edn_schemas release"
        for document in history:
            registry.register(subject, document)
    call_command("edn_schemas", "check", stdout=StringIO())


def test_check_fails_on_a_file_that_breaks_the_registered_history(tmp_path, monkeypatch):
    files = schema_files()
    broken = json.loads(files["v1.OrderShipped"].read_text())
    broken["required"].append("trackingNumber")
    broken["properties"]["trackingNumber"] = {"type": "string"}
    path = tmp_path / "v1.OrderShipped.json"
    path.write_text(json.dumps(broken))
    monkeypatch.setattr(
        "edn_core.management.commands.edn_schemas.schema_files",
        lambda: {**files, "v1.OrderShipped": path},
    )
    err = StringIO()
    with pytest.raises(CommandError, match="schema problem"):
        call_command("edn_schemas", "check", stdout=StringIO(), stderr=err)
    assert "v1.OrderShipped" in err.getvalue() and "trackingNumber" in err.getvalue()


def test_release_snapshots_only_changed_files(tmp_path):
    from edn_core.schema_files import release

    topic = tmp_path / "v1.Thing.json"
    topic.write_text(json.dumps({"type": "object"}))
    assert release(topic) == 1
    assert release(topic) is None
    topic.write_text(json.dumps({"type": "object", "properties": {"a": {"type": "string"}}}))
    assert release(topic) == 2
    assert [len(d) for d in released_history(topic)] == [1, 2]
