"""gunicorn settings from the environment: a project's ``gunicorn.py`` is
``from edn_core.project.gunicorn import *`` (``gunicorn -c <project>/gunicorn.py <project>.wsgi``).
"""

import gc
import multiprocessing
import os
import shutil
import sys
import tempfile

__all__ = [
    "accesslog",
    "bind",
    "child_exit",
    "errorlog",
    "graceful_timeout",
    "keepalive",
    "on_exit",
    "on_starting",
    "post_worker_init",
    "threads",
    "timeout",
    "worker_tmp_dir",
    "workers",
]

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None  # empty: no access log
errorlog = "-"
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", "/dev/shm")

# Metrics of every worker add up at /metrics (prometheus_client's multiprocess mode): each
# writes its figures to files here. Set before any worker imports prometheus_client.
_made_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _made_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="edn-metrics-")


def on_starting(server) -> None:
    """Start from no figures: files of an earlier run would be added in."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if _made_metrics_dir:  # ours: nobody reads it after the server
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def post_worker_init(worker) -> None:
    """Refuse to serve when a system check finds an error (a key too short, say: the same
    checks as ``manage.py check --deploy``). The worker exits as one that failed to boot, and
    gunicorn stops ("Worker failed to boot", exit status 3) before any request is served.
    The checks run here, where Django is loaded anyway, not in the master, which never loads
    it; the first worker also logs the warnings and checks for the development login.

    Then: everything loaded so far (Django, the apps) lives as long as the worker: keep it out
    of the garbage collector's full passes, which otherwise walk it again and again (the more
    often, the more a request allocates -- spans being recorded, say)."""
    from gunicorn.arbiter import Arbiter

    from edn_core.checks import report_development_logins, startup_errors

    first = worker.age == 1
    if startup_errors(report=first):
        sys.exit(Arbiter.WORKER_BOOT_ERROR)
    if first:
        report_development_logins()
    gc.freeze()
