"""gunicorn settings, from the environment (``gunicorn -c config/gunicorn.py config.wsgi``)."""

from edn_core.project.gunicorn import *  # noqa: F403
