"""The store contract on the configured backend (SQLite by default, PostgreSQL in CI)."""

import pytest

from tests.edn_core.eventsourcing.store_contract import *  # noqa: F403

pytestmark = pytest.mark.django_db(databases="__all__")
