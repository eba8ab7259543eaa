"""Admin login throttling (django-axes): a username that fails EDN_ADMIN_LOGIN_FAILURE_LIMIT
times from one address is refused there, even with the right password, until the cool-off
ends or ``manage.py axes_reset`` lifts it; other addresses and other users are unaffected."""

import io

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.test import Client, RequestFactory

from edn_core.login_lockout import client_ip
from edn_core.routers import alias_for

pytestmark = pytest.mark.django_db(databases="__all__")
LOGIN = "/admin/login/?next=/admin/"
ATTACKER, COLLEAGUE, INGRESS = "203.0.113.5", "198.51.100.7", "10.244.0.9"


@pytest.fixture
def admin_user():
    return get_user_model().objects.create_superuser("ops", "ops@example.com", "right-pw")


def log_in(password: str, address: str = ATTACKER, username: str = "ops", **headers):
    return Client(REMOTE_ADDR=address).post(
        LOGIN, {"username": username, "password": password}, **headers
    )


def fail_until_locked(settings, **where) -> None:
    for attempt in range(1, settings.AXES_FAILURE_LIMIT + 1):
        answer = log_in("wrong", **where)
        expected = 429 if attempt == settings.AXES_FAILURE_LIMIT else 200  # the form again
        assert answer.status_code == expected, attempt


def test_the_limit_locks_that_user_at_that_address(admin_user, settings):
    assert log_in("right-pw").status_code == 302  # logs in: nothing locked yet
    fail_until_locked(settings)

    refused = log_in("right-pw")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert b"too many login attempts" in refused.content
    assert "sessionid" not in refused.cookies

    assert log_in("right-pw", address=COLLEAGUE).status_code == 302
    get_user_model().objects.create_superuser("other", "o@example.com", "other-pw")
    assert log_in("other-pw", username="other").status_code == 302


def test_attempts_are_kept_in_the_default_alias(admin_user, settings):
    fail_until_locked(settings)
    assert alias_for(AccessAttempt._meta.app_label) == "default"
    (attempt,) = AccessAttempt.objects.using("default").all()
    assert (attempt.username, attempt.ip_address) == ("ops", ATTACKER)
    assert attempt.failures_since_start == settings.AXES_FAILURE_LIMIT


def test_axes_reset_lifts_the_lockout(admin_user, settings):
    fail_until_locked(settings)
    assert log_in("right-pw").status_code == 429
    output = io.StringIO()
    call_command("axes_reset", stdout=output)
    assert output.getvalue().strip() == "1 attempts removed."
    assert log_in("right-pw").status_code == 302


def test_behind_the_ingress_the_address_it_saw_is_locked(admin_user, settings):
    """The ingress appends the address it received from; what the client wrote before it in
    X-Forwarded-For changes nothing."""
    settings.EDN_TRUSTED_PROXY_COUNT = 1
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        spoofed = f"192.0.2.{attempt}, {ATTACKER}"  # a new made-up address each time
        log_in("wrong", address=INGRESS, HTTP_X_FORWARDED_FOR=spoofed)
    assert log_in("right-pw", address=INGRESS, HTTP_X_FORWARDED_FOR=ATTACKER).status_code == 429
    assert log_in("right-pw", address=INGRESS, HTTP_X_FORWARDED_FOR=COLLEAGUE).status_code == 302


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "198.51.100.1", INGRESS),  # no proxy trusted: the header is the client's word
        (1, "", INGRESS),  # reached directly, inside the cluster
        (1, "198.51.100.1", "198.51.100.1"),
        (1, "6.6.6.6, 198.51.100.1", "198.51.100.1"),
        (2, "6.6.6.6, 198.51.100.1, 10.0.0.2", "198.51.100.1"),
        (2, "198.51.100.1", INGRESS),  # fewer hops than proxies: not through them
    ],
)
def test_client_ip(settings, count, forwarded, expected):
    settings.EDN_TRUSTED_PROXY_COUNT = count
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = RequestFactory().get("/", REMOTE_ADDR=INGRESS, **headers)
    assert client_ip(request) == expected


def test_code_may_still_authenticate_without_a_request(admin_user):
    assert authenticate(username="ops", password="right-pw") == admin_user
    assert authenticate(username="ops", password="wrong") is None
