"""Revocation in one process: a deactivated, renamed or deleted user, or ``edn_revoke``, puts
``v1.SubjectRevoked`` in the outbox with the change; delivered, it is kept in the revocation
list, and the subject's tokens issued before it are refused with 401 (decision 0076)."""

import time
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import OperationalError, transaction
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from edn_core.bus.dispatch import deliver
from edn_core.revocations import TOPIC
from edn_core.revocations.cache import revocation_list
from edn_core.revocations.events import revoke
from edn_core.revocations.models import OutboxMessage, Revocation
from edn_core.scopes import all_scopes
from edn_core.testing import EventBus

pytestmark = pytest.mark.django_db(databases="__all__")
URL = "/api/customers"


@pytest.fixture(autouse=True)
def fresh_list():
    revocation_list.forget()  # a list another test read (and rolled back) is not this one's
    yield
    revocation_list.forget()


def token(subject: str | None, issued: float | None = None, **claims) -> str:
    access = AccessToken()
    access["user_id"], access["scope"] = "1", " ".join(all_scopes())
    if subject is not None:
        access["sub"] = access["username"] = subject
    if issued is not None:
        access["iat"] = int(issued)
    for name, value in claims.items():
        access[name] = value
    return str(access)


def get(client, bearer: str):
    return client.get(URL, HTTP_AUTHORIZATION=f"Bearer {bearer}")


def revocations(bus: EventBus) -> list[tuple[str, str]]:
    return [(e.data["subject"], e.data["reason"]) for e in bus.published(TOPIC)]


def test_a_deactivated_users_earlier_tokens_are_refused_and_others_are_not(client):
    user = get_user_model().objects.create_user("rv-ann")
    before, other = token("rv-ann", time.time() - 5), token("rv-someone-else")
    assert get(client, before).status_code == 200
    bus = EventBus()
    with transaction.atomic():
        user.is_active = False
        user.save()
        assert revocations(bus) == [("rv-ann", "deactivated")]  # inside its transaction
    assert bus.published(TOPIC)[0].aggregate_id == "rv-ann"
    bus.run_until_quiet()

    refused = get(client, before)
    assert refused.status_code == 401 and refused["Content-Type"] == "application/problem+json"
    assert refused.json()["detail"] == "This token was revoked."
    assert refused.json()["type"] == "urn:edn:problem:token-revoked"
    assert refused["WWW-Authenticate"].startswith("Bearer")
    assert get(client, other).status_code == 200


def test_a_deactivation_that_rolls_back_revokes_nothing():
    user = get_user_model().objects.create_user("rv-bob")
    bus = EventBus()
    with pytest.raises(RuntimeError), transaction.atomic():
        user.is_active = False
        user.save()
        raise RuntimeError("the change fails after the save")
    assert revocations(bus) == [] and not OutboxMessage.objects.exists()


def test_only_a_change_that_ends_or_moves_a_users_tokens_revokes():
    users = get_user_model().objects
    bus = EventBus()
    user = users.create_user("rv-cat")  # created: nothing to revoke
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    user.first_name = "Cat"
    user.save()
    inactive = users.create_user("rv-dan", is_active=False)
    inactive.save()  # already inactive
    assert revocations(bus) == []
    user.username = "rv-catherine"
    user.save()  # renamed: tokens naming the old name no longer count
    assert revocations(bus) == [("rv-cat", "renamed")]


def test_deleting_a_user_in_the_admin_revokes_its_tokens(admin_client):
    user = get_user_model().objects.create_user("rv-eve")
    before = token("rv-eve", time.time() - 5)
    bus = EventBus()
    answer = admin_client.post(f"/admin/auth/user/{user.pk}/delete/", {"post": "yes"})
    assert answer.status_code == 302 and not get_user_model().objects.filter(pk=user.pk).exists()
    assert revocations(bus) == [("rv-eve", "deleted")]
    bus.run_until_quiet()
    assert get(admin_client, before).status_code == 401


def test_edn_revoke_revokes_a_subject_no_user_here_has(client):
    before = token("provider|42", time.time() - 5)
    bus, out = EventBus(), StringIO()
    call_command("edn_revoke", "provider|42", "--reason", "laptop stolen", stdout=out)
    (event,) = bus.published(TOPIC)
    assert event.data == {**event.data, "subject": "provider|42", "reason": "laptop stolen"}
    assert "'provider|42'" in out.getvalue() and event.id in out.getvalue()
    bus.run_until_quiet()
    assert get(client, before).status_code == 401
    with pytest.raises(CommandError, match="1 to 255"):
        call_command("edn_revoke", " ", stdout=out)


def test_tokens_issued_from_the_revocations_second_on_work(client):
    """``iat`` counts whole seconds: the second of the revocation itself is refused."""
    at = timezone.now().replace(microsecond=500000) - timedelta(seconds=30)
    with transaction.atomic():
        event = revoke("rv-kim", reason="test", at=at)
    deliver(event.to_json())
    issued = at.timestamp()
    assert get(client, token("rv-kim", issued - 1)).status_code == 401
    assert get(client, token("rv-kim", issued)).status_code == 401  # same second, 0.5 s before
    assert get(client, token("rv-kim", issued + 1)).status_code == 200
    assert get(client, token("rv-kim")).status_code == 200


def test_a_redelivered_or_older_revocation_changes_nothing_and_a_newer_one_moves_it():
    now = timezone.now()
    with transaction.atomic():
        events = [
            revoke("rv-fay", reason=r, at=now + timedelta(seconds=s))
            for r, s in [("first", 0), ("older", -60), ("newer", 30)]
        ]
    first, older, newer = [e.to_json() for e in events]
    assert deliver(first) == {"edn_revocations.record_revocations": "handled"}
    assert deliver(first) == {"edn_revocations.record_revocations": "duplicate"}
    deliver(older)
    row = Revocation.objects.get(subject="rv-fay")
    assert (row.not_before, row.reason) == (now, "first")
    deliver(newer)
    assert Revocation.objects.get(subject="rv-fay").not_before == now + timedelta(seconds=30)
    assert Revocation.objects.count() == 1


def test_revocations_older_than_the_retention_are_forgotten(settings):
    settings.EDN_REVOCATION_RETENTION_DAYS = 1
    long_ago = timezone.now() - timedelta(days=2)
    Revocation.objects.create(subject="rv-old", not_before=long_ago)
    with transaction.atomic():
        stale = revoke("rv-stale", reason="late", at=long_ago)
        fresh = revoke("rv-gus", reason="now")
    deliver(stale.to_json())
    deliver(fresh.to_json())
    assert list(Revocation.objects.values_list("subject", flat=True)) == ["rv-gus"]


def test_a_token_without_iat_of_a_revoked_subject_is_refused_and_username_names_it(client):
    Revocation.objects.create(subject="rv-hal", not_before=timezone.now() - timedelta(hours=1))
    plain = token(None, time.time() - 7200, username="rv-hal")  # no sub: username names it
    assert get(client, plain).status_code == 401
    for subject, status in [("rv-hal", 401), ("rv-nobody", 200)]:
        no_iat = AccessToken()
        no_iat["sub"], no_iat["user_id"], no_iat["scope"] = subject, "1", " ".join(all_scopes())
        del no_iat["iat"]
        assert get(client, str(no_iat)).status_code == status
    assert get(client, token("rv-hal")).status_code == 200  # issued after


def test_an_unreadable_revocation_list_is_503_then_the_last_one_is_kept(client, monkeypatch):
    def unreadable():
        raise OperationalError("connection refused")

    monkeypatch.setattr(revocation_list, "_held", (None, float("-inf")))  # none read yet
    monkeypatch.setattr(revocation_list, "_load", unreadable)
    answer = get(client, token("rv-ivy"))
    assert answer.status_code == 503 and answer["Content-Type"] == "application/problem+json"
    assert answer.json()["type"] == "urn:edn:problem:revocations-unavailable"
    assert answer["Retry-After"]
    # a list read before the outage: kept, and still refusing what it names
    monkeypatch.setattr(revocation_list, "_held", ({"rv-ivy": time.time() + 60}, float("-inf")))
    assert get(client, token("rv-ivy")).status_code == 401
    assert get(client, token("rv-jon")).status_code == 200


def test_each_service_has_its_own_queue_for_revocations_and_subscribes_with_dapr(settings):
    from edn_core.bus.transports.celery import app_queues, queue_name
    from edn_core.dapr_app import subscription_document

    settings.EDN_BROKER_NAMESPACE, settings.EDN_SERVICES = "ns", ["orders"]
    queues = {app: queue.name for app, queue in app_queues().items()}
    assert queues["edn_revocations"] == "ns.edn_revocations.orders"  # its replicas share it
    assert queues["orders"] == "ns.orders"
    assert queue_name("edn_revocations", ["customers"]) == "ns.edn_revocations.customers"
    assert TOPIC in {item["topic"] for item in subscription_document()}


def test_handling_a_revocation_replaces_the_lists_version():
    """Other processes read the version row each refresh and the list only when it changed
    (tests/edn_core/test_revocation_list.py): a handled revocation must replace it."""
    from edn_core.revocations.models import ListVersion

    before = ListVersion.current()
    with transaction.atomic():
        event = revoke("rv-ver", reason="test")
    deliver(event.to_json())
    after = ListVersion.current()
    assert after is not None and after != before
    deliver(event.to_json())  # redelivered: the inbox skips it, the version stays
    assert ListVersion.current() == after
