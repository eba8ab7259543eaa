import gc
import signal

from django.core.management.base import BaseCommand

from edn_core.bus.worker import BusWorker
from edn_core.observability import exposition


class Command(BaseCommand):
    help = (
        "Publish outbox rows of every hosted alias and run due retries. Wakes on commit "
        "(PostgreSQL LISTEN/NOTIFY) and sweeps periodically; any number may run at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="drain once and exit")

    def handle(self, *args, once=False, **options):
        worker = BusWorker()
        if once:
            moved = worker.run_once()
            self.stdout.write(f"moved {moved} message(s)")
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: worker.stop())
        exposition.serve_port()  # EDN_METRICS_PORT, if set
        # what is loaded now lives as long as the relay: out of the collector's full passes
        gc.freeze()
        self.stdout.write("relay running; Ctrl-C to stop")
        worker.run()
