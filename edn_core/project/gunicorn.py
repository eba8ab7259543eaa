"""gunicorn settings from the environment: a project's ``gunicorn.py`` is
``from edn_core.project.gunicorn import *`` (``gunicorn -c <project>/gunicorn.py <project>.wsgi``).
"""

import multiprocessing
import os

__all__ = [
    "accesslog",
    "bind",
    "errorlog",
    "graceful_timeout",
    "keepalive",
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
