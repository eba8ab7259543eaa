"""The schema files of the installed apps: what each app publishes (``<app>/schemas/<topic>.json``
and its released history) and what each consumer reads (``<app>/schemas/reads/<topic>.json``),
and the checks ``edn_schemas check`` runs on them before anything is registered."""

from __future__ import annotations

import json
from pathlib import Path

from django.apps import apps
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from edn_core.bus.subscriptions import subscriptions
from edn_core.readers import READS, conflicts

__all__ = [
    "declared_readers",
    "reader_problems",
    "release",
    "released_history",
    "schema_files",
]


def _folders() -> list[tuple[str, Path]]:
    return [(config.label, Path(config.path) / "schemas") for config in apps.get_app_configs()]


def schema_files() -> dict[str, Path]:
    """Every ``<app>/schemas/<topic>.json`` of the installed apps, by topic."""
    files = {}
    for _, folder in _folders():
        for file in sorted(folder.glob("v*.json")) if folder.is_dir() else []:
            files[file.stem] = file
    return files


def released_history(topic_file: Path) -> list[dict]:
    """The released versions of a topic, oldest first: ``schemas/released/<topic>/<n>.json``."""
    folder = topic_file.parent / "released" / topic_file.stem
    files = sorted(folder.glob("*.json"), key=lambda f: int(f.stem)) if folder.is_dir() else []
    return [json.loads(f.read_text()) for f in files]


def release(topic_file: Path) -> int | None:
    """Snapshot the file as the next released version if it changed; return that number."""
    history = released_history(topic_file)
    current = json.loads(topic_file.read_text())
    if history and history[-1] == current:
        return None
    folder = topic_file.parent / "released" / topic_file.stem
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{len(history) + 1}.json").write_text(json.dumps(current, indent=2) + "\n")
    return len(history) + 1


def declared_readers() -> dict[tuple[str, str], tuple[str, object]]:
    """Every reader this project declares, by (topic, consumer): (where, document). Files
    ``<app>/schemas/reads/<topic>.json`` first, then ``subscribe(..., reads=...)`` in code;
    a file that is not JSON maps to its error message (a str)."""
    found: dict[tuple[str, str], tuple[str, object]] = {}
    for label, folder in _folders():
        for file in sorted((folder / READS).glob("v*.json")) if folder.is_dir() else []:
            try:
                document: object = json.loads(file.read_text())
            except ValueError as error:
                document = f"not JSON: {error}"
            found[(file.stem, label)] = (str(file), document)
    for sub in subscriptions():
        if isinstance(sub.reads, dict):
            found.setdefault((sub.topic, sub.app_label), (sub.consumer, sub.reads))
    return found


def _reader_app(sub) -> str:
    """The consumer whose reader covers ``sub``: the app ``reads`` names, or its own."""
    return sub.reads if isinstance(sub.reads, str) else sub.app_label


def _invalid(document: object) -> str | None:
    if isinstance(document, str):
        return document
    if not isinstance(document, dict):
        return "a reader schema must be a JSON object"
    try:
        Draft202012Validator.check_schema(document)
    except SchemaError as error:
        return f"not a valid JSON Schema: {error.message}"
    return None


def reader_problems(files: dict[str, Path]) -> list[str]:
    """What breaks a reader declared here: an invalid reader schema, a subscription that
    declares no reader, or a producer schema file (``files``) the reader cannot read."""
    readers = declared_readers()
    problems = [
        f"{sub.topic}: {sub.consumer} declares no reader schema "
        f"({_reader_app(sub)}/schemas/{READS}/{sub.topic}.json)"
        for sub in subscriptions()
        if (sub.topic, _reader_app(sub)) not in readers
    ]
    for (topic, consumer), (where, document) in sorted(readers.items()):
        why = _invalid(document)
        if why:
            problems.append(f"{topic}: the reader of {consumer} ({where}) is {why}")
        elif topic in files:
            producer = json.loads(files[topic].read_text())
            problems += [f"{topic}: {c.message}" for c in conflicts(consumer, document, producer)]
    return problems
