"""pytest fixtures for a project's tests (``pytest_plugins = ["edn_core.pytest_plugin"]`` in its
``tests/conftest.py``): API clients with and without a token, and every hosted app's event
schemas registered before a database test, as after ``edn_schemas register`` in a deployment."""

import os

import pytest

__all__ = [
    "anonymous",
    "api",
    "bearer_token",
    "registered_event_schemas",
]


def bearer_token(user_id: int = 1, username: str = "tester") -> str:
    """Return a signed access token for a user that need not exist in any database."""
    from rest_framework_simplejwt.tokens import AccessToken

    token = AccessToken()
    token["user_id"] = str(user_id)
    token["username"] = username
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


@pytest.fixture(autouse=True)
def registered_event_schemas(request):
    """Register the hosted apps' event schemas before each database test."""
    if request.node.get_closest_marker("django_db") is None:
        return
    request.getfixturevalue("_django_db_helper")
    from django.core.management import call_command

    with open(os.devnull, "w") as quiet:
        call_command("edn_schemas", "register", stdout=quiet)
