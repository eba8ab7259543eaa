"""Per-token API throttling (EDN_API_THROTTLE_RATE): each token user gets the rate, the next
request is 429 problem+json with Retry-After; off when empty; health, documentation and the
Dapr routes are never counted; with a shared cache (EDN_CACHE_URL) the count is cluster-wide."""

import json
import os
import subprocess
import sys
import uuid

import pytest
import redis
from django.core.cache import cache

from edn_core.security import TokenRateThrottle
from tests.conftest import REQUIRE_SERVICES, bearer_token

pytestmark = pytest.mark.django_db(databases="__all__")
URL = "/api/customers"
REDIS = os.environ.get("EDN_TEST_REDIS_CACHE_URL", "redis://127.0.0.1:6379/0")


def a_user() -> int:
    return uuid.uuid4().int % 10**12  # a user no other test counts for


def get(client, user: int, path: str = URL):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {bearer_token(user)}")


@pytest.fixture
def rate(settings):
    def set_rate(value: str) -> None:
        settings.EDN_API_THROTTLE_RATE = value

    yield set_rate
    cache.clear()


def test_a_token_user_gets_the_rate_then_429_with_retry_after(client, rate):
    rate("2/day")
    user, other = a_user(), a_user()
    assert [get(client, user).status_code for _ in range(2)] == [200, 200]
    refused = get(client, user)
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:edn:problem:throttled"
    assert 0 < int(refused["Retry-After"]) <= 24 * 3600
    assert get(client, other).status_code == 200  # each user has its own budget
    assert get(client, user).status_code == 429  # a fresh token of the same user too


def test_no_rate_means_no_limit(client, rate):
    rate("")
    assert TokenRateThrottle().rate is None
    user = a_user()
    assert {get(client, user).status_code for _ in range(5)} == {200}


def test_health_documentation_and_dapr_routes_are_never_throttled(client, rate, settings):
    settings.ROOT_URLCONF = "tests.edn_core.dapr_urls"
    rate("1/day")
    user = a_user()
    for path in ("/healthz", "/readyz", "/api/schema/", "/api/docs/", "/dapr/subscribe"):
        assert {get(client, user, path).status_code for _ in range(3)} == {200}, path
    assert get(client, user).status_code == 200  # the API budget is still whole
    assert client.get(URL).status_code == 401  # without a token: refused, not counted


PROBE = """
import json, sys
import django
django.setup()
from django.core.management import call_command
call_command("migrate", "edn_revocations", verbosity=0)  # the revocation list requests read
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

class Probe(APIView):  # the API's default authentication, permission and throttle
    required_scopes = "customers:read"

    def get(self, request):
        return Response({})

statuses = []
for token in json.load(sys.stdin):
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    statuses.append(Probe.as_view()(request).render().status_code)
print(json.dumps(statuses))
"""


def redis_or_skip() -> None:
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        if REQUIRE_SERVICES:
            pytest.fail(f"EDN_REQUIRE_SERVICES=1 but Redis at {REDIS} is unreachable: {error}")
        pytest.skip(f"Redis at {REDIS} is unreachable: {error}")


def test_a_shared_cache_counts_across_processes(tmp_path):
    """Two processes (two pods) with EDN_CACHE_URL on one Redis share each user's budget."""
    redis_or_skip()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "EDN_")) and not k.endswith("_DATABASE_URL")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        EDN_DATA_DIR=str(tmp_path),
        EDN_CACHE_URL=REDIS,
        EDN_API_THROTTLE_RATE="3/day",
    )
    user = a_user()
    token = bearer_token(user)

    def process(requests: int) -> list[int]:
        done = subprocess.run(
            [sys.executable, "-c", PROBE],
            input=json.dumps([token] * requests),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.splitlines()[-1])

    try:
        assert process(2) == [200, 200]
        assert process(2) == [200, 429]
    finally:
        redis.Redis.from_url(REDIS).delete(f":1:throttle_token_{user}")  # Django's key
