from edn_core.project.urls import *  # noqa: F403  health, admin, docs and every hosted app's API
