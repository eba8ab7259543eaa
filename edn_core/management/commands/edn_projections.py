"""``manage.py edn_projections status|rebuild NAME|reset NAME``: where each projection stands,
and its two ways to start again (docs/projections.md).

- ``status``: per projection and generation: position, lag (events not applied yet),
  applied, when it last caught up, and its last error.
- ``rebuild NAME``: blue/green -- write the next generation from the first event while the
  live one keeps serving and following appends, then swap them in one transaction and clear
  the old one (decision 0070). A rebuild that was stopped resumes where it stood.
- ``reset NAME``: in place -- one transaction deletes the live generation's rows and sets its
  checkpoint to zero, then it replays batch by batch: reads see the read model fill up again.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from edn_core.eventsourcing import generations, projections
from edn_core.eventsourcing.running import ensure_live, states

WIDTH = 30


class Progress:
    """One line, redrawn after each batch: bar, events done of all, rate, time left."""

    def __init__(self, out, total: int) -> None:
        self.out, self.total, self.done, self.started = out, max(total, 1), 0, time.monotonic()

    def __call__(self, state, moved: int) -> None:
        self.done += moved
        share = min(self.done / self.total, 1.0)
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        left = max(self.total - self.done, 0) / rate if rate else 0
        bar = "#" * int(share * WIDTH)
        self.out.write(
            f"\r[{bar:<{WIDTH}}] {self.done:,}/{self.total:,} events "
            f"{rate:,.0f}/s, {left:.0f} s left",
            ending="",
        )
        self.out.flush()

    def finish(self) -> None:
        self.out.write("")


class Command(BaseCommand):
    help = "Show projections (status), rebuild one beside the live one, or reset one in place."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "rebuild", "reset"])
        parser.add_argument("name", nargs="?", help="the projection (rebuild and reset)")

    def handle(self, *args, action: str, name: str | None, **options):
        if action == "status":
            return self.status()
        if not name:
            raise CommandError(f"{action} needs the name of a projection")
        try:
            projection = projections.get(name)
        except LookupError as error:
            raise CommandError(str(error)) from error
        live = ensure_live(projection)
        total = generations.lag(projection, live) + live.applied  # every event, about
        progress = Progress(self.stdout, total)
        self.stdout.write(f"{action} {name}: {total:,} events")
        try:
            if action == "rebuild":
                state = generations.rebuild(projection, after_batch=progress)
            else:
                state = generations.reset(projection, after_batch=progress)
        except Exception as error:
            progress.finish()
            message = f"{action} {name} failed (kept as its last error): {error}"
            raise CommandError(message) from error
        progress.finish()
        self.stdout.write(
            self.style.SUCCESS(
                f"{name}: generation {state.generation} is live, {state.applied:,} events"
            )
        )

    def status(self) -> None:
        found = projections.projections()
        if not found:
            self.stdout.write("no projections are registered")
        header = f"{'name':<20} {'gen':>4} {'live':<5} {'position':>10} {'lag':>8} "
        self.stdout.write(header + f"{'applied':>10}  caught up at / last error")
        for projection in found:
            if not states(projection).exists():
                self.stdout.write(f"{projection.name:<20} not run yet")
            for s in generations.standing(projection):
                caught = s.caught_up_at.isoformat(timespec="seconds") if s.caught_up_at else "-"
                self.stdout.write(
                    f"{s.name:<20} {s.generation:>4} {'yes' if s.live else 'no':<5} "
                    f"{s.position:>10} {s.lag:>8} {s.applied:>10}  {caught}"
                    + (f"  ERROR {s.last_error.splitlines()[0]}" if s.last_error else "")
                )
