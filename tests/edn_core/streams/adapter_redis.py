"""The Redis Streams adapter for the contract suite: a ``RedisLog`` on the test Redis database
(``EDN_TEST_STREAMS_REDIS_URL``, DB 6 by default) under a prefix no other test uses, whose keys
are deleted afterwards. Fails under ``EDN_REQUIRE_SERVICES=1``, else skips, when Redis does
not answer."""

from __future__ import annotations

import os
import uuid

import pytest
import redis

from edn_core.streams.redis import RedisLog

URL = os.environ.get("EDN_TEST_STREAMS_REDIS_URL", "redis://127.0.0.1:6379/6")


def client_or_skip() -> redis.Redis:
    """A client of the test Redis, or the test's end (failed or skipped) if it is down."""
    client = redis.Redis.from_url(URL, decode_responses=True, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as error:
        reason = f"Redis at {URL} is not reachable: {error}"
        if os.environ.get("EDN_REQUIRE_SERVICES") == "1":
            pytest.fail(f"EDN_REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)
    return client


def make(request):
    client = client_or_skip()
    prefix = f"edn:test:streams:{uuid.uuid4().hex}:"
    log = RedisLog(client=client, prefix=prefix)
    try:
        yield log
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        log.close()
