"""Tokens from an identity provider (EDN_JWT_JWKS_URL): shaped like Keycloak's, Auth0's and
Entra ID's, signed with RS256 or ES256 keys whose public halves a JWKS endpoint served by this
test publishes. The API runs with the SIMPLE_JWT that ``_jwt_settings`` builds from the
provider's variables; the endpoint counts its fetches, and the keys' clock is the test's.
"""

import json
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import environ
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.exceptions import ImproperlyConfigured
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from rest_framework.test import APIRequestFactory
from rest_framework_simplejwt import settings as simplejwt_settings

from edn_core import identity_provider
from edn_core.authentication import TokenAuthentication
from edn_core.project.settings_security import _jwt_settings
from tests.edn_core.test_jwt_security import assert_refused, hs256_with_raw_key, unsigned

URL = "/api/customers"
ISSUER = "https://id.example.com/realms/shop"
AUDIENCE = "shop-api"
CACHE_SECONDS = 300
REFETCH = identity_provider.REFETCH_SECONDS

RSA_KEYS = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)]
EC_KEYS = [ec.generate_private_key(ec.SECP256R1()) for _ in range(2)]
ALGORITHM_OF = {rsa.RSAPrivateKey: "RS256", ec.EllipticCurvePrivateKey: "ES256"}


def algorithm_of(key) -> str:
    return next(alg for kind, alg in ALGORITHM_OF.items() if isinstance(key, kind))


def jwk(kid: str, key, **members) -> dict:
    """The public half of ``key`` as a provider lists it."""
    kind = RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm
    public = kind.to_jwk(key.public_key(), as_dict=True)
    return {**public, "kid": kid, "use": "sig", "alg": algorithm_of(key), **members}


class Provider(BaseHTTPRequestHandler):
    """The JWKS endpoint: answers ``answer`` (a JWK set, or raw bytes), counts the fetches."""

    answer: dict | bytes = {"keys": []}
    status = 200
    hits = 0

    def do_GET(self):
        type(self).hits += 1
        answer = self.answer if isinstance(self.answer, bytes) else json.dumps(self.answer)
        body = answer if isinstance(answer, bytes) else answer.encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass

    @classmethod
    def publish(cls, *keys: tuple[str, object]) -> None:
        cls.answer = {"keys": [jwk(kid, key) for kid, key in keys]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def env_of(**variables: str) -> environ.Env:
    env = environ.Env()
    env.ENVIRON = variables  # this instance reads these, not os.environ
    return env


def provider_settings(url: str, **variables: str) -> dict:
    base = {"EDN_JWT_JWKS_URL": url, "EDN_JWT_ISSUER": ISSUER, "EDN_JWT_AUDIENCE": AUDIENCE}
    return _jwt_settings(env_of(**{**base, **variables}), debug=True, secret_key="s" * 50)


@pytest.fixture(scope="module")
def server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint(server):
    Provider.answer, Provider.status, Provider.hits = {"keys": []}, 200, 0
    return f"http://127.0.0.1:{server.server_address[1]}/protocol/openid-connect/certs"


def unreachable() -> str:
    """A URL nothing listens at: connection refused."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    return f"http://127.0.0.1:{port}/certs"


@pytest.fixture
def use_provider(settings, monkeypatch):
    """Configure the API for a provider at a URL (as EDN_JWT_JWKS_URL and friends would);
    returns the keys' clock. simplejwt's modules hold its settings object from their import:
    each is pointed at the one built from the new SIMPLE_JWT, and back after the test."""
    clock = Clock()

    def configure(url: str, **variables: str) -> Clock:
        settings.SIMPLE_JWT = provider_settings(url, **variables)  # forgets the old backend
        for name, module in list(sys.modules.items()):
            if name.startswith("rest_framework_simplejwt.") and hasattr(module, "api_settings"):
                monkeypatch.setattr(module, "api_settings", simplejwt_settings.api_settings)
        identity_provider.provider_backend().keys.clock = clock
        return clock

    return configure


@pytest.fixture
def provider(endpoint, use_provider):
    """RS256 with one published key, ``rsa-1``."""
    Provider.publish(("rsa-1", RSA_KEYS[0]))
    return use_provider(endpoint)


def token(key, kid: str | None = "rsa-1", alg: str | None = None, **changes) -> str:
    """A provider's access token: the user in ``sub``, no ``token_type`` or ``jti``;
    a change to ``None`` removes the claim."""
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 300,
        "scope": "openid profile customers:read",
        **changes,
    }
    payload = {name: value for name, value in payload.items() if value is not None}
    headers = {} if kid is None else {"kid": kid}
    return jwt.encode(payload, key, algorithm=alg or algorithm_of(key), headers=headers)


def call(client, bearer: str):
    return client.get(URL, HTTP_AUTHORIZATION=f"Bearer {bearer}")


def assert_unavailable(response):
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "urn:edn:problem:identity-provider-unavailable"
    assert int(response["Retry-After"]) == REFETCH


def pem(key) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.django_db(databases="__all__")
@pytest.mark.parametrize("key", [RSA_KEYS[0], EC_KEYS[0]], ids=["RS256", "ES256"])
def test_a_providers_token_is_accepted(client, endpoint, use_provider, key):
    Provider.publish(("signing", key))
    use_provider(endpoint, EDN_JWT_ALGORITHM=algorithm_of(key))
    assert call(client, token(key, kid="signing")).status_code == 200
    assert Provider.hits == 1


@pytest.mark.django_db(databases="__all__")
def test_the_user_is_the_tokens_subject(provider):
    bearer = token(RSA_KEYS[0], sub="f3a1c2d4-provider-user", user_id="7")
    request = APIRequestFactory().get(URL, HTTP_AUTHORIZATION=f"Bearer {bearer}")
    user, claims = TokenAuthentication().authenticate(request)
    assert user.id == "f3a1c2d4-provider-user"
    assert isinstance(claims, identity_provider.ProviderAccessToken)


def test_a_key_of_another_curve_under_the_tokens_kid_is_401(client, endpoint, use_provider):
    """An ES256 token naming a P-384 key the set lists without ``alg``: the key cannot check
    it (PyJWT raises an error simplejwt does not catch), which is the token's fault."""
    p384 = jwk("ec", ec.generate_private_key(ec.SECP384R1()))
    del p384["alg"]
    Provider.answer = {"keys": [p384]}
    use_provider(endpoint, EDN_JWT_ALGORITHM="ES256")
    assert_refused(call(client, token(EC_KEYS[0], kid="ec")))
    assert Provider.hits == 1


@pytest.mark.django_db(databases="__all__")
@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"scope": "customers:read"}, id="scope-string"),
        pytest.param({"scope": None, "scp": ["customers:read", "orders:read"]}, id="scp-list"),
        pytest.param({"scope": None, "scp": "customers:read orders:read"}, id="scp-string"),
    ],
)
def test_the_scope_comes_from_scope_or_scp(client, provider, changes):
    key = RSA_KEYS[0]
    assert call(client, token(key, **changes)).status_code == 200
    refused = call(client, token(key, **{**changes, "scope": "orders:read", "scp": None}))
    assert refused.status_code == 403, refused.content
    assert refused.json()["type"] == "urn:edn:problem:insufficient-scope"


def stranger_under_a_listed_kid():
    return token(RSA_KEYS[2], kid="rsa-1")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: token(RSA_KEYS[0], iss="https://evil.example.com"), id="wrong-issuer"),
        pytest.param(lambda: token(RSA_KEYS[0], iss=None), id="no-issuer"),
        pytest.param(lambda: token(RSA_KEYS[0], aud="another-api"), id="wrong-audience"),
        pytest.param(lambda: token(RSA_KEYS[0], aud=None), id="no-audience"),
        pytest.param(lambda: token(RSA_KEYS[0], exp=int(time.time()) - 3600), id="expired"),
        pytest.param(lambda: token(RSA_KEYS[0], exp=None), id="no-expiry"),
        pytest.param(lambda: token(RSA_KEYS[0], iat=int(time.time()) + 3600), id="issued-ahead"),
        pytest.param(lambda: token(RSA_KEYS[0], sub=None), id="no-subject"),
        pytest.param(lambda: token(RSA_KEYS[0], kid="unlisted"), id="unknown-kid"),
        pytest.param(lambda: token(RSA_KEYS[0], kid=None), id="no-kid"),
        pytest.param(stranger_under_a_listed_kid, id="other-key-listed-kid"),
        pytest.param(lambda: token(EC_KEYS[0], kid="rsa-1"), id="ES256-where-RS256"),
        pytest.param(lambda: unsigned({"sub": "x", "iss": ISSUER, "aud": AUDIENCE}), id="alg-none"),
        pytest.param(
            lambda: hs256_with_raw_key(
                {"sub": "x", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60},
                pem(RSA_KEYS[0]),
            ),
            id="HS256-keyed-with-the-public-key",
        ),
        pytest.param(lambda: "garbage", id="garbage"),
    ],
)
def test_a_bad_token_is_401(client, provider, make):
    assert_refused(call(client, make()))
    assert Provider.hits <= 1


def test_a_token_is_refused_before_any_fetch_unless_its_header_could_be_the_providers(
    client, provider
):
    for bad in ("garbage", unsigned({"sub": "x"}), token(RSA_KEYS[0], kid=None)):
        assert_refused(call(client, bad))
    assert_refused(call(client, token(EC_KEYS[0], kid="rsa-1")))
    assert Provider.hits == 0


@pytest.mark.django_db(databases="__all__")
def test_keys_are_fetched_once_and_again_when_the_cache_expires(client, provider):
    for _ in range(5):
        assert call(client, token(RSA_KEYS[0])).status_code == 200
    assert Provider.hits == 1
    provider.advance(CACHE_SECONDS - 1)
    assert call(client, token(RSA_KEYS[0])).status_code == 200
    assert Provider.hits == 1
    provider.advance(1)
    assert call(client, token(RSA_KEYS[0])).status_code == 200
    assert Provider.hits == 2


@pytest.mark.django_db(databases="__all__")
def test_a_key_published_by_rotation_is_fetched_and_a_retired_one_expires(client, provider):
    assert call(client, token(RSA_KEYS[0])).status_code == 200
    Provider.publish(("rsa-1", RSA_KEYS[0]), ("rsa-2", RSA_KEYS[1]))
    provider.advance(REFETCH)
    assert call(client, token(RSA_KEYS[1], kid="rsa-2")).status_code == 200
    assert call(client, token(RSA_KEYS[0])).status_code == 200
    assert Provider.hits == 2
    Provider.publish(("rsa-2", RSA_KEYS[1]))  # rsa-1 retired
    provider.advance(CACHE_SECONDS)
    assert_refused(call(client, token(RSA_KEYS[0])))
    assert call(client, token(RSA_KEYS[1], kid="rsa-2")).status_code == 200
    assert Provider.hits == 3


@pytest.mark.django_db(databases="__all__")
def test_unknown_kids_refetch_at_most_once_per_interval(client, provider):
    assert call(client, token(RSA_KEYS[0])).status_code == 200
    for _ in range(20):
        assert_refused(call(client, token(RSA_KEYS[1], kid=uuid.uuid4().hex)))
    assert Provider.hits == 1  # the first fetch was just now
    provider.advance(REFETCH)
    for _ in range(20):
        assert_refused(call(client, token(RSA_KEYS[1], kid=uuid.uuid4().hex)))
    assert Provider.hits == 2
    assert call(client, token(RSA_KEYS[0])).status_code == 200


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        pytest.param(500, {"keys": []}, id="server-error"),
        pytest.param(200, b"<html>maintenance</html>", id="not-json"),
        pytest.param(200, [], id="json-list"),
        pytest.param(200, {"keys": []}, id="no-keys"),
        pytest.param(200, {"keys": [{"kty": "RSA", "kid": "rsa-1"}]}, id="malformed-key"),
        pytest.param(200, {"keys": [jwk("enc", RSA_KEYS[0], use="enc")]}, id="encryption-key-only"),
        pytest.param(200, {"keys": [jwk("ec", EC_KEYS[0])]}, id="no-key-for-the-algorithm"),
    ],
)
def test_a_provider_answering_garbage_is_503_and_asked_again_only_later(
    client, endpoint, use_provider, status, answer
):
    Provider.status, Provider.answer = status, answer
    clock = use_provider(endpoint)
    assert_unavailable(call(client, token(RSA_KEYS[0])))
    assert_unavailable(call(client, token(RSA_KEYS[0])))
    assert Provider.hits == 1
    clock.advance(REFETCH)
    assert_unavailable(call(client, token(RSA_KEYS[0])))
    assert Provider.hits == 2


@pytest.mark.django_db(databases="__all__")
def test_an_unreachable_provider_is_503(client, use_provider):
    clock = use_provider(unreachable())
    assert_unavailable(call(client, token(RSA_KEYS[0])))
    clock.advance(REFETCH)
    assert_unavailable(call(client, token(RSA_KEYS[0])))


@pytest.mark.django_db(databases="__all__")
def test_keys_already_fetched_serve_while_the_provider_is_down(client, provider):
    assert call(client, token(RSA_KEYS[0])).status_code == 200
    Provider.status = 503
    provider.advance(CACHE_SECONDS)
    assert call(client, token(RSA_KEYS[0])).status_code == 200  # the fetch failed: keys kept
    assert Provider.hits == 2
    # a kid it does not know may be one published since: the provider must say
    assert_unavailable(call(client, token(RSA_KEYS[1], kid="rsa-2")))
    Provider.status = 200
    Provider.publish(("rsa-1", RSA_KEYS[0]), ("rsa-2", RSA_KEYS[1]))
    provider.advance(REFETCH)
    assert call(client, token(RSA_KEYS[1], kid="rsa-2")).status_code == 200
    assert Provider.hits == 3


def test_provider_settings():
    built = provider_settings("https://id.example.com/certs")
    assert built["ALGORITHM"] == "RS256"
    assert built["JWK_URL"] == "https://id.example.com/certs"
    assert (built["ISSUER"], built["AUDIENCE"]) == (ISSUER, AUDIENCE)
    assert built["USER_ID_CLAIM"] == "sub"
    assert built["TOKEN_TYPE_CLAIM"] is None and built["JTI_CLAIM"] is None
    assert built["LEEWAY"] == 10 and built["EDN_JWK_CACHE_SECONDS"] == CACHE_SECONDS
    chosen = provider_settings(
        "https://id.example.com/certs",
        EDN_JWT_ALGORITHM="ES256",
        EDN_JWT_USER_ID_CLAIM="oid",
        EDN_JWT_LEEWAY_SECONDS="30",
        EDN_JWT_JWKS_CACHE_SECONDS="60",
    )
    assert (chosen["ALGORITHM"], chosen["USER_ID_CLAIM"]) == ("ES256", "oid")
    assert (chosen["LEEWAY"], chosen["EDN_JWK_CACHE_SECONDS"]) == (30, 60)


@pytest.mark.parametrize(
    ("variables", "refusal"),
    [
        ({"EDN_JWT_ALGORITHM": "HS256"}, "needs an RS, PS or ES"),
        ({"EDN_JWT_VERIFYING_KEY": "-----BEGIN PUBLIC KEY-----"}, "no EDN_JWT_VERIFYING_KEY"),
        ({"EDN_JWT_JWKS_URL": "http://id.example.com/certs"}, "must be an https:// URL"),
        ({"EDN_JWT_JWKS_URL": "file:///etc/passwd"}, "must be an https:// URL"),
        ({"EDN_JWT_ISSUER": ""}, "needs EDN_JWT_ISSUER and EDN_JWT_AUDIENCE"),
        ({"EDN_JWT_AUDIENCE": ""}, "needs EDN_JWT_ISSUER and EDN_JWT_AUDIENCE"),
        ({"EDN_JWT_JWKS_CACHE_SECONDS": "0"}, "at least 1"),
    ],
)
def test_provider_settings_refused(variables, refusal):
    base = {
        "EDN_JWT_JWKS_URL": "https://id.example.com/certs",
        "EDN_JWT_ISSUER": ISSUER,
        "EDN_JWT_AUDIENCE": AUDIENCE,
    }
    env = env_of(**{**base, **variables})
    with pytest.raises(ImproperlyConfigured, match=refusal):
        _jwt_settings(env, debug=False, secret_key="s" * 50)
