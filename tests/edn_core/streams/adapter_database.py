"""The database log of the contract suite: the ``analytics`` app's stream tables on its alias
(SQLite by default, PostgreSQL when ``ANALYTICS_DATABASE_URL`` says so). Each contract test
runs in a transaction rolled back after it (fast), so the log's statements run inside a
caller's transaction there; test_database_log.py covers their own transactions and commits
seen by other sessions (``COMMITTING``: test databases emptied after each test).

pytest-django creates the test databases that the collected tests' marks name, so the tests
that use this log carry ``DATABASE`` (test_contract.py marks its ``database`` parameter)."""

from __future__ import annotations

import pytest

from edn_core.streams.database import DatabaseLog

APP = ALIAS = "analytics"
# "default" too: every alias's test database depends on it (Django's TEST DEPENDENCIES)
DATABASE = pytest.mark.django_db(databases=["default", ALIAS])
COMMITTING = pytest.mark.django_db(databases=["default", ALIAS], transaction=True)


def make(request):
    if request.node.get_closest_marker("django_db") is None:
        request.applymarker(DATABASE)
    request.getfixturevalue("_django_db_helper")
    log = DatabaseLog(APP, ALIAS)
    yield log
    log.close()
