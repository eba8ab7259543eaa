import json

from django.core.management.base import BaseCommand, CommandError

from edn_core import schemas
from edn_core.events import published_topics
from edn_core.schema_files import (
    declared_readers,
    reader_problems,
    release,
    schema_files,
)


class Command(BaseCommand):
    help = (
        "register: register each app's event schemas (<app>/schemas/*.json), then each "
        "consumer's reader schemas (<app>/schemas/reads/*.json), in the registry; "
        "check: exit non-zero when a schema file breaks a reader declared here, a subscription "
        "declares no reader, a published topic has no schema file, or (unless --offline) a file "
        "is incompatible with the registered history or readers; release: snapshot changed "
        "files into <app>/schemas/released/<topic>/<n>.json (the history CI checks against)."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["register", "check", "release"])
        parser.add_argument(
            "--offline",
            action="store_true",
            help="check: only this repository's files (no registry is asked)",
        )

    def handle(self, *args, action, offline=False, **options):
        if action == "release":
            for subject, file in sorted(schema_files().items()):
                number = release(file)
                self.stdout.write(
                    f"{subject}: " + (f"released as version {number}" if number else "unchanged")
                )
            return
        files = schema_files()
        problems = [
            f"{topic}: published but has no schema file"
            for topic in published_topics()
            if topic not in files
        ]
        if action == "check":
            problems += reader_problems(files)
            self.stdout.write(f"this repository: {len(problems)} problem(s) in its schema files")
        if not (action == "check" and offline):
            problems += self.with_registry(action, files)
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} schema problem(s)")

    def with_registry(self, action: str, files: dict) -> list[str]:
        registry = schemas.source()
        if registry is None:
            raise CommandError(
                "No schema registry: host schema_registry or set EDN_SCHEMA_REGISTRY_URL"
                + (" (or check this repository only: --offline)." if action == "check" else ".")
            )
        problems: list[str] = []
        readers = [
            (key, doc) for key, (_, doc) in declared_readers().items() if isinstance(doc, dict)
        ]
        total = len(files) + (len(readers) if action == "register" else 0)
        for index, (subject, file) in enumerate(sorted(files.items()), start=1):
            prefix = f"[{index}/{total}] {subject}"
            problems += self.one(registry, action, prefix, subject, json.loads(file.read_text()))
        if action == "register":
            for index, ((topic, consumer), document) in enumerate(sorted(readers), len(files) + 1):
                prefix = f"[{index}/{total}] {topic} read by {consumer}"
                problems += self.reader(registry, prefix, topic, consumer, document)
        return problems

    def one(self, registry, action, prefix, subject, document) -> list[str]:
        if action == "check":
            reasons = self.attempt(subject, lambda: registry.compatibility(subject, document))
            self.stdout.write(f"{prefix}: {'incompatible' if reasons else 'compatible'}")
            return [f"{subject}: {reason}" for reason in reasons]
        return self.attempt(
            subject,
            lambda: registry.register(subject, document),
            prefix,
            lambda found: f"version {found.version} (id {found.id})",
        )

    def reader(self, registry, prefix, topic, consumer, document) -> list[str]:
        return self.attempt(
            topic,
            lambda: registry.register_reader(topic, consumer, document),
            prefix,
            lambda schema_id: f"reader registered (id {schema_id})",
        )

    def attempt(self, subject, call, prefix="", done=None):
        """``call()``; an unreachable registry ends the command, a refusal is a problem. With
        ``done``: print the line it makes of the answer and return the problems ([] or the
        refusal's reasons); without: return the answer."""
        try:
            answer = call()
        except schemas.RegistryUnavailable as error:
            raise CommandError(f"{subject}: {error.message}") from None
        except schemas.SchemaRefused as refused:
            self.stdout.write(f"{prefix}: refused")
            return [f"{subject}: {r}" for r in refused.reasons or [refused.message]]
        if done is None:
            return answer
        self.stdout.write(f"{prefix}: {done(answer)}")
        return []
