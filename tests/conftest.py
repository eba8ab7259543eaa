import os

import pytest
from django.conf import settings

pytest.register_assert_rewrite("edn_core.pytest_plugin")
from edn_core.pytest_plugin import bearer_token  # noqa: E402

# The platform's fixtures: api, anonymous, and every app's schemas registered for database tests.
pytest_plugins = ["edn_core.pytest_plugin"]
__all__ = ["BROKERS", "REQUIRE_SERVICES", "bearer_token", "broker_or_skip"]

REQUIRE_SERVICES = os.environ.get("EDN_REQUIRE_SERVICES") == "1"


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


BROKERS = {
    "rabbitmq": os.environ.get("EDN_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//"),
    "redis": os.environ.get("EDN_TEST_REDIS_URL", "redis://127.0.0.1:6379/5"),
}


@pytest.fixture(params=sorted(BROKERS))
def broker_url(request):
    """A reachable broker URL, once per broker kind (skips, or fails under
    EDN_REQUIRE_SERVICES=1, when the broker does not answer)."""
    return broker_or_skip(BROKERS[request.param])


@pytest.fixture
def rabbitmq() -> str:
    """RabbitMQ's URL, PostgreSQL answering too: what the multi-process tests run on."""
    from tests.support.postgres import postgres_or_skip

    postgres_or_skip()
    return broker_or_skip(BROKERS["rabbitmq"])


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


# The test files that take longest (tens of seconds each: processes, faults, a wheel build),
# scheduled first when the suite runs on xdist workers (scripts/test): with `--dist loadfile`
# a long file started last keeps one worker busy while the other has nothing left to do.
# Only the order of whole files changes; a file's own tests keep theirs.
LONG_FILES = (
    "tests/faults/test_broker_outage.py",
    "tests/faults/test_process_kills.py",
    "tests/faults/test_database_outage.py",
    "tests/test_broker_resilience.py",
    "tests/library/test_wheel.py",
    "tests/test_services_e2e.py",
    "tests/test_saga_processes.py",
    "tests/test_streams_processes.py",
    "tests/test_traces_across_processes.py",
    "tests/edn_core/streams/test_runtime_kills.py",
    "tests/schema_registry/test_migrate_all_registers.py",
    "tests/edn_core/test_startservice.py",
    "tests/edn_core/test_relay_processes.py",
    "tests/test_quickstart.py",
    "tests/edn_core/eventsourcing/test_projections_rebuild.py",
)


def pytest_collection_modifyitems(config, items):
    if not hasattr(config, "workerinput"):  # not an xdist worker: the order as collected
        return
    rank = {path: n for n, path in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
