"""Bearer tokens: only a token signed with the configured algorithm and key, for this audience
and issuer, inside its validity window, authenticates; anything else is 401 problem+json.

The RS256 cases need the ``cryptography`` package (``djangorestframework-simplejwt[crypto]``, a
dependency of the project): without it they fail with that reason instead of skipping.
"""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time

import jwt
import pytest
from django.conf import settings
from rest_framework_simplejwt import state
from rest_framework_simplejwt.backends import TokenBackend

from tests.conftest import bearer_token
from tests.support.tokens import claims

URL = "/api/customers"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with_raw_key(payload: dict, key: bytes) -> str:
    """An HS256 token whose HMAC key is ``key`` as bytes: PyJWT refuses to sign with a PEM
    public key, an attacker's own code does not."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{_b64(json.dumps(payload).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def unsigned(payload: dict) -> str:
    return jwt.encode(payload, None, algorithm="none")


HS_KEY = settings.SIMPLE_JWT["SIGNING_KEY"]  # the test settings' HS256 key


def hs_key() -> str:
    return HS_KEY


def tampered_payload() -> str:
    """A valid token whose payload now names another user, under the original signature."""
    header, _, signature = bearer_token().split(".")
    return f"{header}.{_b64(json.dumps(claims(user_id='1')).encode())}.{signature}"


def call(client, token: str | None, scheme: str = "Bearer"):
    headers = {} if token is None else {"HTTP_AUTHORIZATION": f"{scheme} {token}"}
    return client.get(URL, **headers)


def assert_refused(response):
    assert response.status_code == 401, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 401 and body["type"].startswith("urn:edn:problem:")
    assert "{" not in body["detail"] and "ErrorDetail" not in body["detail"], body["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.fixture
def rsa_keys():
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
    except ImportError:
        pytest.fail(
            "RS256 tokens need the cryptography package (djangorestframework-simplejwt[crypto])"
        )

    def pair() -> tuple[str, str]:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return private, public.decode()

    return pair(), pair()  # the deployment's pair, and a stranger's


@pytest.fixture
def rs256(settings, monkeypatch, rsa_keys):
    """The API configured for RS256 with the first key pair (as EDN_JWT_ALGORITHM=RS256)."""
    (private, public), _ = rsa_keys
    settings.SIMPLE_JWT = {
        **settings.SIMPLE_JWT,
        "ALGORITHM": "RS256",
        "SIGNING_KEY": private,
        "VERIFYING_KEY": public,
    }
    backend = TokenBackend(
        "RS256", private, public, settings.SIMPLE_JWT["AUDIENCE"], settings.SIMPLE_JWT["ISSUER"]
    )
    monkeypatch.setattr(state, "token_backend", backend)
    return rsa_keys


@pytest.mark.django_db(databases="__all__")
def test_a_valid_token_is_accepted(client):
    assert call(client, bearer_token()).status_code == 200
    assert call(client, jwt.encode(claims(), hs_key(), algorithm="HS256")).status_code == 200
    # the hand-made HS256 token of the confusion test is well formed: with the right key it passes
    assert call(client, hs256_with_raw_key(claims(), hs_key().encode())).status_code == 200


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # HS512's
@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: unsigned(claims()), id="alg-none"),
        pytest.param(lambda: jwt.encode(claims(exp=int(time.time()) - 1), hs_key()), id="expired"),
        pytest.param(
            lambda: jwt.encode(claims(nbf=int(time.time()) + 3600), hs_key()), id="not-yet-valid"
        ),
        pytest.param(lambda: jwt.encode(claims(aud="someone-else"), hs_key()), id="wrong-audience"),
        pytest.param(lambda: jwt.encode(claims(aud=None), hs_key()), id="no-audience"),
        pytest.param(lambda: jwt.encode(claims(iss="https://evil"), hs_key()), id="wrong-issuer"),
        pytest.param(lambda: jwt.encode(claims(iss=None), hs_key()), id="no-issuer"),
        pytest.param(lambda: jwt.encode(claims(exp=None), hs_key()), id="no-expiry"),
        pytest.param(lambda: jwt.encode(claims(token_type="refresh"), hs_key()), id="refresh"),
        pytest.param(lambda: jwt.encode(claims(user_id=None), hs_key()), id="no-user"),
        pytest.param(lambda: jwt.encode(claims(), "x" * 48), id="other-key"),
        pytest.param(lambda: jwt.encode(claims(), hs_key(), algorithm="HS512"), id="other-hs-alg"),
        pytest.param(lambda: bearer_token()[:-4] + "AAAA", id="tampered-signature"),
        pytest.param(lambda: tampered_payload(), id="tampered-payload"),
        pytest.param(lambda: "garbage", id="garbage"),
        pytest.param(lambda: "a.b.c", id="three-garbage-parts"),
        pytest.param(lambda: "é" * 40, id="non-ascii"),
        pytest.param(lambda: "", id="empty"),
    ],
)
def test_a_bad_token_is_401_problem(client, make):
    assert_refused(call(client, make()))


def test_no_token_or_another_scheme_is_401_problem(client):
    assert_refused(call(client, None))
    assert_refused(call(client, bearer_token(), scheme="Basic"))


def test_an_rs256_token_is_refused_where_hs256_is_configured(client, rsa_keys):
    (private, _), _ = rsa_keys
    assert_refused(call(client, jwt.encode(claims(), private, algorithm="RS256")))


@pytest.mark.django_db(databases="__all__")
def test_rs256_accepts_only_the_deployments_key(client, rs256):
    (private, _), (stranger, _) = rs256
    assert call(client, jwt.encode(claims(), private, algorithm="RS256")).status_code == 200
    assert_refused(call(client, jwt.encode(claims(), stranger, algorithm="RS256")))
    assert_refused(call(client, jwt.encode(claims(exp=1), private, algorithm="RS256")))
    assert_refused(call(client, jwt.encode(claims(aud="x"), private, algorithm="RS256")))
    assert_refused(call(client, unsigned(claims())))


def test_rs256_refuses_an_hs256_token_keyed_with_its_public_key(client, rs256):
    """Algorithm confusion: a verifier that let the token pick HS256 would check the HMAC
    with the public key, which anyone can do."""
    (_, public), _ = rs256
    assert_refused(call(client, hs256_with_raw_key(claims(), public.encode())))
    assert_refused(call(client, jwt.encode(claims(), hs_key(), algorithm="HS256")))


PROBE = """
import json, sys
import django
django.setup()
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

class Probe(APIView):  # the API's default authentication and permission
    required_scopes = "customers:read"

    def get(self, request):
        return Response({"user": request.user.id})

statuses = []
for token in json.load(sys.stdin):
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    statuses.append(Probe.as_view()(request).render().status_code)
print(json.dumps(statuses))
"""


def test_rs256_from_the_environment_verifies_without_the_private_key(rsa_keys, tmp_path):
    """A service of an RS256 deployment is given the public key only (EDN_JWT_VERIFYING_KEY):
    it accepts the issuer's tokens and refuses a confused or unsigned one."""
    (private, public), _ = rsa_keys
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "EDN_")) and not k.endswith("_DATABASE_URL")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_SECRET_KEY="s" * 50,
        EDN_DATA_DIR=str(tmp_path),
        EDN_JWT_ALGORITHM="RS256",
        EDN_JWT_VERIFYING_KEY=public,
    )
    tokens = [
        jwt.encode(claims(), private, algorithm="RS256"),
        hs256_with_raw_key(claims(), public.encode()),
        unsigned(claims()),
    ]
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        input=json.dumps(tokens),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == [200, 401, 401]
