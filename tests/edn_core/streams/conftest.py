"""The streams contract suite runs once per adapter: ``log`` is a fresh ``StreamLog`` whose
streams no other test sees. Each adapter's factory lives in ``adapter_<name>.py`` here: a
function ``make(request)`` that yields the log and cleans up after it (it fails under
``EDN_REQUIRE_SERVICES=1``, or skips otherwise, when its server does not answer)."""

from __future__ import annotations

import importlib

import pytest

ADAPTERS = ["database", "redis", "nats"]


@pytest.fixture(params=ADAPTERS)
def log(request):
    module = importlib.import_module(f"tests.edn_core.streams.adapter_{request.param}")
    yield from module.make(request)
