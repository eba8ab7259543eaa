"""pytest fixtures for a project's tests (``pytest_plugins = ["edn_core.pytest_plugin"]`` in its
``tests/conftest.py``): API clients with and without a token, and every hosted app's event
schemas registered before a database test, as after ``edn_schemas register`` in a deployment.

The schemas are registered once, committed, before the first database test's transaction
opens; a test that rolls back leaves them as they were, so it finds them without registering
again. A transactional test's teardown empties every table, so from the first one on (pytest-
django runs them after the others) each database test registers them itself, as before."""

import os
from collections.abc import Iterable

import pytest

__all__ = [
    "anonymous",
    "api",
    "bearer_token",
    "registered_event_schemas",
]


def bearer_token(
    user_id: int = 1, username: str = "tester", scopes: Iterable[str] | None = None
) -> str:
    """Return a signed access token for a user that need not exist in any database, granting
    ``scopes`` (every scope of the project by default)."""
    from rest_framework_simplejwt.tokens import AccessToken

    from edn_core.scopes import all_scopes

    token = AccessToken()
    token["user_id"] = str(user_id)
    token["username"] = token["sub"] = username
    token["scope"] = " ".join(all_scopes() if scopes is None else scopes)
    return str(token)


@pytest.fixture
def anonymous():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer_token()}")
    return client


def _register() -> None:
    from django.core.management import call_command

    with open(os.devnull, "w") as quiet:
        call_command("edn_schemas", "register", stdout=quiet)


def _transactional(item: pytest.Item) -> bool:
    """Whether pytest-django empties the tables after ``item`` (as its own ordering decides)."""
    marker = item.get_closest_marker("django_db")
    names = getattr(item, "fixturenames", ())
    return bool(
        marker.kwargs.get("transaction")
        or marker.kwargs.get("reset_sequences")
        or {"transactional_db", "live_server"} & set(names)
    )


_committed = {"intact": False}  # the session's registration is still in the tables


@pytest.fixture(scope="session", autouse=True)
def _event_schemas_committed(request):
    """Register the schemas in the test databases and commit, before any test's transaction
    (session fixtures are set up first); nothing when no test of the run has the registry's
    database."""
    from pytest_django.fixtures import _get_databases_for_setup

    from edn_core.routers import alias_for

    items = [i for i in request.session.items if i.get_closest_marker("django_db")]
    if not items or alias_for("schema_registry") not in _get_databases_for_setup(items)[0]:
        return  # no database test, or none with the registry's database: nothing to register
    request.getfixturevalue("django_db_setup")
    with request.getfixturevalue("django_db_blocker").unblock():
        _register()
    _committed["intact"] = True


@pytest.fixture(autouse=True)
def registered_event_schemas(request):
    """Have the hosted apps' event schemas registered in each database test, and nothing of
    the registry cached from an earlier test (what it registered was rolled back)."""
    if request.node.get_closest_marker("django_db") is None:
        return
    from edn_core import schemas

    schemas.forget_cached()
    if _transactional(request.node):
        _committed["intact"] = False  # its teardown empties every table
    elif _committed["intact"]:
        return
    request.getfixturevalue("_django_db_helper")
    _register()
