"""``manage.py edn_streams list|run|reset|trim``: operate the streams (docs/streams.md).

- ``list``: every stream the project feeds or processes, its log and partitions, and each
  group's lag — entries not processed yet and the age of the oldest of them.
- ``run NAME``: run a stream processor until stopped (SIGTERM or Ctrl-C), with a progress line
  while it replays a backlog; ``--until-caught-up`` stops once it read everything.
- ``run --all``: every processor of the apps this process hosts (``EDN_SERVICES``), a thread
  each (``edn_core.streams.hosted``), until SIGTERM or Ctrl-C stops them all; a line per
  processor now and then instead of the progress bar. A deployed service's streams process.
- ``reset GROUP --stream NAME --to earliest|latest|OFFSET|TIME``: move a group (asks first;
  ``--yes`` does not). A processor's group can only start over (``--to earliest``).
- ``trim``: apply each configured stream's retention now.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time

from django.core.management.base import BaseCommand, CommandError

from edn_core.observability import exposition
from edn_core.streams import hosted, operations, processors
from edn_core.streams.feed import log_for, trim_hosted_streams

WIDTH = 30
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def stopped_by_signals(stop: threading.Event):
    """SIGTERM and SIGINT set ``stop`` while inside; the previous handlers come back after
    (and ``stop`` is set, so that nothing started inside outlives it)."""
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        stop.set()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Command(BaseCommand):
    help = "List streams and groups with their lag, run a processor, reset a group, trim."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list", "run", "reset", "trim"])
        parser.add_argument("name", nargs="?", help="run: the processor; reset: the group")
        parser.add_argument("--stream", help="reset: the group's stream")
        parser.add_argument("--to", help="reset: earliest, latest, an offset or an RFC 3339 time")
        parser.add_argument("--yes", action="store_true", help="reset without asking")
        parser.add_argument("--until-caught-up", action="store_true", help="run: stop then")
        parser.add_argument("--consumer", help="run: this member's name (default: host-pid)")
        parser.add_argument("--all", action="store_true", help="run: every hosted processor")

    def handle(self, *args, action: str, name: str | None, **options):
        if action == "list":
            return self.list()
        if action == "trim":
            for stream, removed in trim_hosted_streams().items():
                self.stdout.write(f"{stream}: {removed:,} entries removed")
            return None
        if action == "run" and options["all"]:
            if name:
                raise CommandError("run takes a processor's name or --all, not both")
            return self.run_all(options)
        if not name:
            raise CommandError(f"{action} needs a name")
        if action == "run":
            return self.run(name, options)
        return self.reset(name, options)

    def list(self) -> None:
        rows = operations.standing()
        if not rows:
            self.stdout.write("no streams yet (none is fed or processed, or nothing appended)")
        self.stdout.write(f"{'stream':<28} {'group':<32} {'log':<9} {'behind':>10}  oldest waiting")
        for row in rows:
            behind = f"{row.behind:,}{'+' if row.capped else ''}"
            age = f"{row.oldest_age.total_seconds():,.1f} s" if row.oldest_age else "-"
            group = row.group + (" (processor)" if row.processor else "")
            self.stdout.write(f"{row.stream:<28} {group:<32} {row.log:<9} {behind:>10}  {age}")

    def run(self, name: str, options) -> None:
        from edn_core.streams import runtime

        exposition.serve_port()  # EDN_METRICS_PORT, if set

        try:
            processor = processors.get(name)
        except LookupError as error:
            raise CommandError(str(error)) from error
        log, stop = log_for(processor.app_label, processor.stream), threading.Event()
        started, until = time.monotonic(), None
        if options["until_caught_up"]:
            until = lambda current: not current.consumed  # noqa: E731
        self.stdout.write(f"{name}: {processor.stream} ({log.name} log), group {processor.group}")

        def progress(p) -> None:
            if p.lag is None and not p.round.consumed:
                return
            rate = p.done / max(time.monotonic() - started, 1e-6)
            total = p.done + (p.lag or 0)
            bar = "#" * int(WIDTH * p.done / total) if total else ""
            lag = f"{p.lag:,} behind" if p.lag is not None else "caught up?"
            self.stdout.write(
                f"\r[{bar:<{WIDTH}}] {p.done:,} entries {rate:,.0f}/s, {lag}  ", ending=""
            )
            self.stdout.flush()

        with stopped_by_signals(stop):
            done = runtime.run(
                processor,
                log,
                stop=stop,
                progress=progress,
                until=until,
                consumer=options["consumer"],
            )
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"{name}: {done:,} entries applied"))

    def run_all(self, options) -> None:
        """Every hosted processor, a thread each, until SIGTERM or SIGINT stops them all."""
        found = hosted.hosted()
        if not found:
            raise CommandError("no stream processor is declared by the apps hosted here")
        exposition.serve_port()
        stop = threading.Event()
        with stopped_by_signals(stop):
            totals = hosted.run_hosted(found, stop, say=self.say, consumer=options["consumer"])
        for name, done in totals.items():
            self.stdout.write(self.style.SUCCESS(f"{name}: {done:,} entries applied"))

    def say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def reset(self, group: str, options) -> None:
        stream, target = options["stream"], options["to"]
        if not stream or not target:
            raise CommandError("reset needs --stream NAME and --to earliest|latest|OFFSET|TIME")
        logs = {s: log for (_, s), log in operations.hosted_logs().items()}
        if stream not in logs:
            raise CommandError(f"no stream {stream} is fed or processed here")
        if not options["yes"]:
            answer = input(f"Move group {group} of {stream} to {target}? Type 'yes': ")
            if answer.strip().lower() != "yes":
                raise CommandError("reset cancelled")
        try:
            offsets = operations.reset_group(logs[stream], stream, group, target)
        except (ValueError, RuntimeError) as error:
            raise CommandError(str(error)) from error
        where = ", ".join(f"{p}:{o}" for p, o in sorted(offsets.items())) or "the start"
        self.stdout.write(self.style.SUCCESS(f"{group} of {stream} now at {where}"))
