"""The streams contract suite runs once per adapter: ``log`` is a fresh ``StreamLog`` whose
streams no other test sees. Each adapter's factory lives in ``adapter_<name>.py`` here: a
function ``make(request)`` that yields the log and cleans up after it (it fails under
``EDN_REQUIRE_SERVICES=1``, or skips otherwise, when its server does not answer)."""

from __future__ import annotations

import importlib

import pytest

from tests.edn_core.streams.adapter_database import DATABASE

ADAPTERS = ["database", "redis", "nats"]


# pytest-django sets up the test databases that the collected tests' marks name: the database
# adapter's parameter carries them
@pytest.fixture(
    params=[pytest.param(a, marks=DATABASE if a == "database" else ()) for a in ADAPTERS]
)
def log(request):
    module = importlib.import_module(f"tests.edn_core.streams.adapter_{request.param}")
    yield from module.make(request)


@pytest.fixture(autouse=True)
def registered_event_schemas():
    """Streams need no event schemas (the platform's fixture registers them for every
    database test, which needs the registry's database)."""


@pytest.fixture(autouse=True)
def declared_processors_left_as_found():
    """Processors a test declares are forgotten after it (the wiring and ``edn_streams run
    --all`` of later tests see the project's own only)."""
    from edn_core.streams import processors

    before = {p.name for p in processors.processors()}
    yield
    for processor in processors.processors():
        if processor.name not in before:
            processors.unregister(processor.name)
