import os

import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

REQUIRE_SERVICES = os.environ.get("EDN_REQUIRE_SERVICES") == "1"


def bearer_token(user_id: int = 1, username: str = "tester") -> str:
    """Return a signed access token for a user that need not exist in any database."""
    token = AccessToken()
    token["user_id"] = str(user_id)
    token["username"] = username
    return str(token)


@pytest.fixture
def anonymous():
    return APIClient()


@pytest.fixture
def api():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer_token()}")
    return client


def _on_postgres(alias: str) -> bool:
    return settings.DATABASES[alias]["ENGINE"] == "django.db.backends.postgresql"


@pytest.fixture
def require_postgres():
    """Skip (or fail under EDN_REQUIRE_SERVICES=1) unless the given aliases are on PostgreSQL."""

    def check(*aliases: str) -> None:
        missing = [alias for alias in aliases if not _on_postgres(alias)]
        if not missing:
            return
        reason = f"aliases {missing} are not on PostgreSQL; set <ALIAS>_DATABASE_URL"
        if REQUIRE_SERVICES:
            pytest.fail(f"EDN_REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)

    return check


@pytest.fixture(autouse=True)
def registered_event_schemas(request):
    """Tests with a database start with every app's event schemas registered, as in a
    deployment where ``edn_schemas register`` ran before the services started."""
    if request.node.get_closest_marker("django_db") is None:
        return
    request.getfixturevalue("_django_db_helper")
    from django.core.management import call_command

    call_command("edn_schemas", "register", stdout=open(os.devnull, "w"))  # noqa: SIM115


BROKERS = {
    "rabbitmq": os.environ.get("EDN_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//"),
    "redis": os.environ.get("EDN_TEST_REDIS_URL", "redis://127.0.0.1:6379/5"),
}


@pytest.fixture(params=sorted(BROKERS))
def broker_url(request):
    """A reachable broker URL, once per broker kind (skips, or fails under
    EDN_REQUIRE_SERVICES=1, when the broker does not answer)."""
    return broker_or_skip(BROKERS[request.param])


def broker_or_skip(url: str) -> str:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as error:
        reason = f"the broker at {url} is not reachable: {error}"
        if REQUIRE_SERVICES:
            pytest.fail(f"EDN_REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)
    return url
