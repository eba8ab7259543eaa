"""Every 401 and 403 problem's ``detail`` is one plain sentence, through HTTP: never a repr of
simplejwt's dict (``{'detail': ErrorDetail(...), 'messages': [{'token_class': ...}]}``)."""

import re
import time

import jwt
import pytest
from django.conf import settings

from edn_core.cqrs.refusals import EXPIRED, INVALID, MISSING, WRONG_SCHEME, refusal_detail
from tests.conftest import bearer_token
from tests.support.tokens import claims

URL = "/api/customers"
SENTENCE = re.compile(r"[A-Z][^{}\[\]'\"<>]*\.")  # a capital, plain words, a full stop


def token(**changes) -> str:
    return jwt.encode(claims(**changes), settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")


def detail_of(response, status: int) -> str:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    detail = response.json()["detail"]
    assert SENTENCE.fullmatch(detail), detail
    for word in ("ErrorDetail", "token_class", "token_type", "messages", "code="):
        assert word not in detail, detail
    return detail


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        pytest.param(None, MISSING, id="missing"),
        pytest.param("Basic dXNlcjpwdw==", WRONG_SCHEME.format(", not Basic"), id="basic"),
        pytest.param(lambda: f"JWT {token()}", WRONG_SCHEME.format(", not JWT"), id="jwt-scheme"),
        pytest.param(lambda: token(), WRONG_SCHEME.format(""), id="no-scheme"),
        pytest.param("Bearer garbage", INVALID, id="garbage"),
        pytest.param(lambda: f"Bearer {token(exp=int(time.time()) - 60)}", EXPIRED, id="expired"),
        pytest.param(lambda: f"Bearer {token(aud='someone-else')}", INVALID, id="wrong-audience"),
        pytest.param(lambda: f"Bearer {token()[:-4]}AAAA", INVALID, id="tampered"),
        pytest.param(lambda: f"Bearer {token(token_type='refresh')}", INVALID, id="refresh-token"),
        # simplejwt's own words where they are a plain sentence
        pytest.param(
            lambda: f"Bearer {token(user_id=None)}",
            "Token contained no recognizable user identification.",
            id="no-user",
        ),
        pytest.param(
            "Bearer two parts",
            "Authorization header must contain two space-delimited values.",
            id="three-words",
        ),
    ],
)
def test_a_refused_token_is_told_in_a_plain_sentence(client, authorization, expected):
    """Tokens are made as the test runs (``lambda``): made at collection, a long run would
    see them expire first."""
    if callable(authorization):
        authorization = authorization()
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    response = client.get(URL, **headers)
    assert detail_of(response, 401) == expected
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db(databases="__all__")
def test_an_insufficient_scope_keeps_its_sentence_and_challenge(client):
    authorization = f"Bearer {bearer_token(scopes=['orders:read'])}"
    response = client.get(URL, HTTP_AUTHORIZATION=authorization)
    assert detail_of(response, 403) == (
        "This operation needs the scope customers:read, which the token does not have."
    )
    assert response["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", scope="customers:read"'
    )
    assert response.json()["type"] == "urn:edn:problem:insufficient-scope"


def test_a_detail_that_is_no_sentence_is_replaced():
    from rest_framework import exceptions
    from rest_framework_simplejwt.exceptions import InvalidToken

    structured = InvalidToken({"messages": [{"token_class": "AccessToken", "message": "x"}]})
    assert refusal_detail(structured) == INVALID
    assert refusal_detail(exceptions.AuthenticationFailed({"why": ["nested"]})) == INVALID
    assert refusal_detail(exceptions.PermissionDenied(["a", "list"])) == (
        "You do not have permission to perform this action."
    )
    assert refusal_detail(exceptions.PermissionDenied("no entry")) == "No entry."
