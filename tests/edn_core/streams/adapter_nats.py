"""The NATS JetStream adapter for the contract suite: a ``NatsLog`` on the test server
(``NATS_URL``, ``nats://127.0.0.1:4222`` by default) under a prefix no other test uses, whose
streams are deleted afterwards. Fails under ``EDN_REQUIRE_SERVICES=1``, else skips, when the
server does not answer or has no JetStream."""

from __future__ import annotations

import asyncio
import os
import uuid

import nats
import pytest

from edn_core.streams.nats import NatsLog

URL = os.environ.get("NATS_URL", "nats://127.0.0.1:4222")
_down: list[str] = []  # why the server is not usable, once found (asked once per process)
_checked: list[bool] = []


async def _probe() -> None:
    options = {"allow_reconnect": False, "max_reconnect_attempts": 1, "reconnect_time_wait": 0.1}
    client = await nats.connect(URL, connect_timeout=3, **options)
    try:
        await client.jetstream().account_info()
    finally:
        await client.close()


def server_or_skip() -> str:
    """The test server's URL, or the test's end (failed or skipped) if it is not usable."""
    if not _checked:
        try:
            asyncio.run(asyncio.wait_for(_probe(), 10))
        except Exception as error:
            _down.append(f"NATS JetStream at {URL} is not reachable: {error!r}")
        _checked.append(True)
    if _down:
        if os.environ.get("EDN_REQUIRE_SERVICES") == "1":
            pytest.fail(f"EDN_REQUIRE_SERVICES=1 but {_down[0]}")
        pytest.skip(_down[0])
    return URL


def new_log(prefix: str = "", url: str = "", **options) -> NatsLog:
    """A log on the test server (or at ``url``, once the test server answered) under
    ``prefix`` (a new one if not given)."""
    url = server_or_skip() and (url or URL)
    return NatsLog(url, prefix=prefix or f"edn-t-{uuid.uuid4().hex[:12]}", **options)


def drop(log: NatsLog) -> None:
    """Delete the log's streams and close it."""
    try:
        for stream in log.streams():
            log.delete(stream)
    finally:
        log.close()


def make(request):
    log = new_log()
    yield log
    drop(log)
