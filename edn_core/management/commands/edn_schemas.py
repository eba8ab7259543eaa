import json
from pathlib import Path

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from edn_core import schemas
from edn_core.events import published_topics


def schema_files() -> dict[str, Path]:
    """Every ``<app>/schemas/<topic>.json`` of the installed apps, by topic."""
    files = {}
    for config in apps.get_app_configs():
        folder = Path(config.path) / "schemas"
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


class Command(BaseCommand):
    help = (
        "register: register each app's event schemas (<app>/schemas/*.json) in the registry; "
        "check: exit non-zero when a file is incompatible with the registered history or a "
        "published topic has no schema file; release: snapshot changed files into "
        "<app>/schemas/released/<topic>/<n>.json (the history CI checks against)."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["register", "check", "release"])

    def handle(self, *args, action, **options):
        if action == "release":
            for subject, file in sorted(schema_files().items()):
                number = release(file)
                self.stdout.write(
                    f"{subject}: " + (f"released as version {number}" if number else "unchanged")
                )
            return
        registry = schemas.source()
        if registry is None:
            raise CommandError(
                "No schema registry: host schema_registry or set EDN_SCHEMA_REGISTRY_URL."
            )
        files = schema_files()
        problems = [
            f"{topic}: published but has no schema file"
            for topic in published_topics()
            if topic not in files
        ]
        for index, (subject, file) in enumerate(sorted(files.items()), start=1):
            document = json.loads(file.read_text())
            prefix = f"[{index}/{len(files)}] {subject}"
            if action == "check":
                try:
                    reasons = registry.compatibility(subject, document)
                except schemas.RegistryUnavailable as error:
                    raise CommandError(f"{subject}: {error.message}") from None
                problems += [f"{subject}: {reason}" for reason in reasons]
                self.stdout.write(f"{prefix}: {'incompatible' if reasons else 'compatible'}")
                continue
            try:
                found = registry.register(subject, document)
            except schemas.RegistryUnavailable as error:
                raise CommandError(f"{subject}: {error.message}") from None
            except schemas.SchemaRefused as refused:
                problems += [f"{subject}: {r}" for r in refused.reasons or [refused.message]]
                self.stdout.write(f"{prefix}: refused")
                continue
            self.stdout.write(f"{prefix}: version {found.version} (id {found.id})")
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} schema problem(s)")
