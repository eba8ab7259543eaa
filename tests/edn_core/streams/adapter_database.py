"""The database log of the contract suite: the ``analytics`` app's stream tables on its alias
(SQLite by default, PostgreSQL when ``ANALYTICS_DATABASE_URL`` says so). The test databases
are transactional, so appends and commits run in their own transactions as in production;
the tables are emptied after each test.

pytest-django creates the test databases that the collected tests' marks name, so the tests
that use this log carry ``DATABASE`` (test_contract.py marks its ``database`` parameter)."""

from __future__ import annotations

import pytest

from edn_core.streams.database import DatabaseLog

APP = ALIAS = "analytics"
# "default" too: every alias's test database depends on it (Django's TEST DEPENDENCIES)
DATABASE = pytest.mark.django_db(databases=["default", ALIAS], transaction=True)


def make(request):
    if request.node.get_closest_marker("django_db") is None:
        request.applymarker(DATABASE)
    request.getfixturevalue("_django_db_helper")
    log = DatabaseLog(APP, ALIAS)
    yield log
    log.close()
