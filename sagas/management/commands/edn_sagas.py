"""``manage.py edn_sagas expire|status|replay|export`` (docs/sagas.md, docs/sagas-replay.md).

- ``expire``: fail steps whose reply is overdue and start their compensation.
- ``status``: count sagas by type and state.
- ``replay``: re-run the recorded sagas (``--from DIR``: recording files instead) on the
  definitions in memory, without side effects; list each saga whose decisions would differ at
  its first diverging input, and exit non-zero when one does.
- ``export``: write the recorded sagas to ``--out DIR``, one JSON file each (fixtures for CI).
"""

import json
import time
from datetime import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime, parse_duration

from edn_core.cqrs import send
from edn_core.management.commands.edn_projections import Progress
from sagas.commands import ExpireOverdueSteps
from sagas.definition import definition
from sagas.history import ROW_FIELDS, recording_of
from sagas.models import SagaRecord
from sagas.replay import Divergence, replay
from sagas.states import WAITING

PROGRESS_EVERY = 100


def since(value: str) -> datetime:
    """An ISO 8601 time (``2025-01-01T00:00Z``) or a duration back from now (``PT6H``)."""
    if (when := parse_datetime(value)) is not None:
        return when if timezone.is_aware(when) else timezone.make_aware(when)
    if (back := parse_duration(value)) is not None:
        return timezone.now() - back
    raise ValueError(f"{value!r} is neither an ISO 8601 time nor a duration")


class Command(BaseCommand):
    help = (
        "expire: fail overdue saga steps (once, or every --every seconds); status: count sagas "
        "by type and state; replay: re-run recorded sagas on the current definitions and report "
        "those that would decide otherwise; export: write recorded sagas to --out DIR."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["expire", "status", "replay", "export"])
        parser.add_argument("--every", type=float, default=0.0, help="repeat (seconds)")
        parser.add_argument("--type", dest="saga_type", help="only sagas of this definition")
        parser.add_argument("--since", type=since, help="only sagas started since (time/duration)")
        parser.add_argument(
            "--against-latest",
            action="store_true",
            help="replay on each definition's newest version, not the one the saga started on",
        )
        parser.add_argument("--from", dest="source", type=Path, help="replay these files")
        parser.add_argument("--out", type=Path, help="export: the folder to write to")

    def handle(self, *args, action, every, **options):
        if action == "status":
            return self.status()
        if action == "replay":
            return self.replay(**options)
        if action == "export":
            return self.export(**options)
        while True:
            total = 0
            while moved := send(ExpireOverdueSteps()).value_or_raise():  # 500 per round
                total += moved
                self.stdout.write(f"expired {total} saga step(s) so far", ending="\r")
            self.stdout.write(f"expired {total} overdue saga step(s)")
            if not every:
                return
            time.sleep(every)

    def status(self) -> None:
        rows = SagaRecord.objects.values_list("saga_type", "state").order_by()
        counts: dict[tuple[str, str], int] = {}
        for key in rows:
            counts[key] = counts.get(key, 0) + 1
        for (saga_type, state), count in sorted(counts.items()):
            self.stdout.write(f"{saga_type} {state}: {count}")

    def replay(self, *, saga_type, since, against_latest, source, **options) -> None:
        total, recordings = self.recordings(saga_type, since, source)
        self.stdout.write(f"replaying {total:,} saga(s)")
        progress, divergent, skipped = Progress(self.stdout, total), [], 0
        for done, recording in enumerate(recordings, 1):
            outcome = self.replay_one(recording, against_latest)
            if done % PROGRESS_EVERY == 0 or done == total:
                progress(None, done - progress.done)  # a redraw per saga would slow a big run
            if isinstance(outcome, Divergence):
                divergent.append(outcome)
            skipped += outcome == "skipped"
        progress.finish()
        for found in divergent:
            self.stdout.write(self.style.ERROR(str(found)))
        summary = f"{total - len(divergent) - skipped} replayed the same, {skipped} skipped"
        if divergent:
            raise CommandError(f"{len(divergent)} saga(s) would decide otherwise; {summary}")
        self.stdout.write(self.style.SUCCESS(f"no saga would decide otherwise: {summary}"))

    def replay_one(self, recording: dict, against_latest: bool):
        """A divergence, None, or "skipped" (nothing recorded; a finished saga whose
        definition version is no longer registered)."""
        if not recording["history"]:
            return "skipped"
        version = None if against_latest else recording["definitionVersion"]
        try:
            used = definition(recording["sagaType"], version)
        except LookupError as error:
            if recording["state"] not in WAITING:
                return "skipped"
            return Divergence(
                recording["id"], recording["sagaType"], recording["definitionVersion"],
                0, "start", "-", "a saga in flight", f"cannot go on: {error}",
            )  # fmt: skip
        return replay(recording, used)

    def recordings(self, saga_type, since, source) -> tuple[int, object]:
        """How many recordings, and the recordings (read from the database a chunk at a
        time, or from the files of ``source``)."""
        if source is not None:
            files = sorted(source.glob("*.json")) if source.is_dir() else [source]
            found = [json.loads(f.read_text()) for f in files]
            found = [r for r in found if not saga_type or r["sagaType"] == saga_type]
            return len(found), found
        rows = SagaRecord.objects.order_by("created_at", "id")
        rows = rows.filter(saga_type=saga_type) if saga_type else rows
        rows = rows.filter(created_at__gte=since) if since else rows
        found = (recording_of(row) for row in rows.values(*ROW_FIELDS).iterator(chunk_size=200))
        return rows.count(), found

    def export(self, *, saga_type, since, out, **options) -> None:
        if out is None:
            raise CommandError("export needs --out DIR")
        out.mkdir(parents=True, exist_ok=True)
        total, recordings = self.recordings(saga_type, since, None)
        progress = Progress(self.stdout, total)
        for done, recording in enumerate(recordings, 1):
            path = out / f"{recording['sagaType']}-{recording['id']}.json"
            path.write_text(json.dumps(recording, indent=1, sort_keys=True) + "\n")
            if done % PROGRESS_EVERY == 0 or done == total:
                progress(None, done - progress.done)
        progress.finish()
        self.stdout.write(f"wrote {total:,} saga recording(s) to {out}")
