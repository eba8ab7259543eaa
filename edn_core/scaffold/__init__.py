"""Scaffolding: ``edn startproject`` (a new project on the platform) and
``manage.py edn_startservice`` (a new service app, wired everywhere)."""
