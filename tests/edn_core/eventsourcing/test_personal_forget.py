"""``edn_forget``: the subject's fields read redacted, its streams lose their snapshots and are
re-projected, flows go on, and no table of the alias keeps its plaintext (a dump).
Run on the configured backend and on the other one (test_personal_backends.py)."""

import io
import json
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from edn_core.eventsourcing.personal import REDACTED
from edn_core.eventsourcing.sealing import is_sealed
from edn_core.eventsourcing.signals import subject_forgotten
from orders.models import FailedDelivery, OrderEvent, OrderSnapshot, OutboxMessage, SubjectKey
from tests.edn_core.eventsourcing.personal_support import (
    HIDDEN_CARD,
    Wallet,
    dump,
    unique_card,
    wallets,
)

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def forgotten_signals():
    sent = []

    def receive(sender, **kwargs):
        sent.append({k: v for k, v in kwargs.items() if k != "signal"})

    subject_forgotten.connect(receive, dispatch_uid="test-personal-forget")
    yield sent
    subject_forgotten.disconnect(dispatch_uid="test-personal-forget")


def new_wallet(repo, customer, card, *charges, nickname=None) -> Wallet:
    wallet = Wallet(uuid.uuid4())
    wallet.add_card(customer, card, nickname)
    for amount in charges:
        wallet.charge(amount)
    repo.add(wallet)
    return wallet


def forget(subject, *args) -> str:
    out = io.StringIO()
    call_command("edn_forget", str(subject), "--app", "orders", *args, stdout=out, stderr=out)
    return out.getvalue()


def snapshot_streams() -> set[str]:
    return set(OrderSnapshot.objects.using("orders").values_list("stream_id", flat=True))


def test_after_forgetting_readers_see_the_redacted_values(forgotten_signals):
    repo, alice, bob = wallets(), uuid.uuid4(), uuid.uuid4()
    hers = [new_wallet(repo, alice, unique_card(), 1, nickname="ally") for _ in range(2)]
    his = new_wallet(repo, bob, bob_card := unique_card(), 1, nickname="bobby")
    assert snapshot_streams() >= {str(w.id) for w in [*hers, his]}  # two events: snapshots

    out = forget(alice)

    assert f"the key of {alice} destroyed now" in out and "2 streams" in out, out
    assert "2 snapshots deleted" in out
    key = SubjectKey.objects.using("orders").get(subject=str(alice))
    assert key.key is None and key.forgotten_at is not None
    for wallet in hers:
        loaded = repo.get(wallet.id)
        assert (loaded.card, loaded.nickname, loaded.charged) == (HIDDEN_CARD, REDACTED, 1)
    assert repo.get(his.id).card == bob_card and repo.get(his.id).nickname == "bobby"
    assert snapshot_streams() & {str(w.id) for w in hers} == set()
    assert str(his.id) in snapshot_streams()
    assert forgotten_signals == [
        {
            "app_label": "orders",
            "subject": str(alice),
            "stream_ids": sorted(str(w.id) for w in hers),
        }
    ]


def test_forgetting_again_does_it_again_and_changes_nothing(forgotten_signals):
    repo, alice = wallets(), uuid.uuid4()
    wallet = new_wallet(repo, alice, unique_card(), 1)
    forget(alice)
    when = SubjectKey.objects.using("orders").get(subject=str(alice)).forgotten_at
    out = forget(alice)
    assert "destroyed already" in out and "1 streams" in out and "0 snapshots deleted" in out
    assert SubjectKey.objects.using("orders").get(subject=str(alice)).forgotten_at == when
    assert repo.get(wallet.id).card == HIDDEN_CARD
    assert [s["stream_ids"] for s in forgotten_signals] == [[str(wallet.id)]] * 2


def test_flows_go_on_for_a_forgotten_subject_with_new_fields_stored_redacted(
    django_capture_on_commit_callbacks,
):
    """No new key is made: what is written about the subject from now on is redacted."""
    repo, alice = wallets(), uuid.uuid4()
    wallet = new_wallet(repo, alice, unique_card())
    forget(alice)
    with django_capture_on_commit_callbacks(using="orders", execute=True):  # commits
        changed = repo.change(wallet.id, lambda w: w.add_card(alice, unique_card(), "new"))
        changed = repo.change(wallet.id, lambda w: w.charge(7))
        later = new_wallet(repo, alice, new_card := unique_card(), 2, nickname="later")
    assert changed.version == 3
    for loaded in (repo.get(wallet.id), repo.get(later.id)):
        assert (loaded.card, loaded.nickname) == (HIDDEN_CARD, REDACTED)
    assert repo.get(wallet.id).charged == 7 and repo.get(later.id).charged == 2
    data = OrderEvent.objects.using("orders").filter(stream_id=str(later.id), version=1).get().data
    assert data["card"] == {"holder": REDACTED, "number": REDACTED} and data["nickname"] == REDACTED
    assert new_card.holder not in json.dumps(data)
    assert SubjectKey.objects.using("orders").get(subject=str(alice)).key is None
    assert snapshot_streams() & {str(wallet.id), str(later.id)} == set()  # had the new card


def test_a_subject_forgotten_before_it_was_seen_never_gets_a_key():
    repo, carol = wallets(), uuid.uuid4()
    out = forget(carol)
    assert "destroyed now" in out and "0 streams" in out
    wallet = new_wallet(repo, carol, unique_card(), nickname="c")
    assert not any(is_sealed(v) for v in OrderEvent.objects.get(stream_id=str(wallet.id)).data)
    assert repo.get(wallet.id).card == HIDDEN_CARD


def test_published_outbox_rows_and_resolved_dead_letters_go_open_ones_are_reported():
    repo, alice = wallets(), uuid.uuid4()
    wallet = new_wallet(repo, alice, unique_card())
    outbox, failed = OutboxMessage.objects.using("orders"), FailedDelivery.objects.using("orders")
    for sent_at in (timezone.now(), None):
        outbox.create(
            event_id=uuid.uuid4(),
            topic="v1.CardAdded",
            aggregate_id=str(wallet.id),
            sequence=1,
            partition=0,
            envelope="{}",
            sent_at=sent_at,
        )
    envelope = json.dumps({"data": {"customerId": str(alice), "street": "Elm 1"}})
    dead = {
        status: failed.create(
            consumer="c", event_id=str(uuid.uuid4()), topic="v1.X", envelope=envelope, status=status
        )
        for status in (FailedDelivery.RESOLVED, FailedDelivery.DEAD, FailedDelivery.RETRYING)
    }
    other = failed.create(consumer="c", event_id="e", topic="v1.X", envelope='{"a": "b"}')

    out = forget(alice)
    assert (
        "1 published outbox rows" in out and "1 outbox rows of those streams not published" in out
    )
    assert "1 dead letters naming the subject deleted" in out
    assert f"kept: failed delivery {dead['dead'].id}" in out and "--purge-failed" in out
    assert outbox.filter(aggregate_id=str(wallet.id)).get().sent_at is None
    assert set(failed.values_list("id", flat=True)) == {
        dead["dead"].id,
        dead["retrying"].id,
        other.id,
    }
    out = forget(alice, "--purge-failed")
    assert "2 dead letters naming the subject deleted" in out and "kept:" not in out
    assert list(failed.values_list("id", flat=True)) == [other.id]


def test_an_app_without_keys_is_refused():
    with pytest.raises(CommandError, match="no SubjectKey table in customers"):
        call_command("edn_forget", "x", "--app", "customers", stdout=io.StringIO())


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_no_plaintext_of_the_subject_is_left_in_any_table_of_the_alias():
    """A dump of the whole alias (pg_dump on PostgreSQL) before and after forgetting."""
    repo, alice, bob = wallets(), uuid.uuid4(), uuid.uuid4()
    cards = [unique_card() for _ in range(3)]
    wallet = new_wallet(repo, alice, cards[0], 1)  # two events: a snapshot with the card
    repo.change(wallet.id, lambda w: w.add_card(alice, cards[1], "alices-nickname"))
    new_wallet(repo, alice, cards[2])
    kept = new_wallet(repo, bob, bob_card := unique_card(), 1)
    texts = [t for c in cards for t in (c.holder, c.number)] + ["alices-nickname"]

    before = dump("orders")
    assert cards[0].holder in before  # in the snapshot: the dump does see plaintext
    forget(alice)
    after = dump("orders")

    assert [t for t in texts if t in after] == []
    assert bob_card.holder in after  # bob's snapshot stays
    assert repo.get(wallet.id).card == HIDDEN_CARD and repo.get(kept.id).card == bob_card
