"""Sealed personal fields in the store: round trip, one key query per batch, upcasting on
plaintext, keys made in the writer's transaction and wrapped by EDN_PERSONAL_DATA_KEY.
Run on the configured backend and on the other one (test_personal_backends.py)."""

import base64
import copy
import json
import uuid

import pytest
from cryptography.exceptions import InvalidTag
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.test.utils import CaptureQueriesContext

from edn_core.eventsourcing import Upcasters
from edn_core.eventsourcing.codec import StoredEvent
from edn_core.eventsourcing.sealing import SEALED, SUBJECT
from orders.models import OrderEvent, SubjectKey
from tests.edn_core.eventsourcing.personal_support import (
    Card,
    CardAdded,
    Charged,
    Wallet,
    later_transaction,
    unique_card,
    wallets,
)

pytestmark = pytest.mark.django_db(databases="__all__")


def new_wallet(repo, customer, card, *charges, nickname=None) -> Wallet:
    wallet = Wallet(uuid.uuid4())
    wallet.add_card(customer, card, nickname)
    for amount in charges:
        wallet.charge(amount)
    repo.add(wallet)
    return wallet


def stored_data(wallet) -> list[dict]:
    rows = OrderEvent.objects.using("orders").filter(stream_id=str(wallet.id))
    return list(rows.order_by("version").values_list("data", flat=True))


def test_personal_fields_are_stored_sealed_and_read_back():
    repo, customer, card = wallets(), uuid.uuid4(), unique_card()
    wallet = new_wallet(repo, customer, card, 5, nickname="my-own-nickname")
    first, charged = stored_data(wallet)
    assert set(first["card"]) == {SEALED, SUBJECT} and first["card"][SUBJECT] == str(customer)
    assert set(first["nickname"]) == {SEALED, SUBJECT}
    text = json.dumps(first)
    assert card.holder not in text and card.number not in text and "my-own-nickname" not in text
    assert first["customer_id"] == str(customer) and charged == {
        "aggregate_id": str(wallet.id),
        "occurred_at": charged["occurred_at"],
        "amount": 5,
    }
    loaded = repo.get(wallet.id)
    assert (loaded.card, loaded.nickname, loaded.charged) == (card, "my-own-nickname", 5)


def test_an_empty_optional_field_is_stored_as_none():
    repo = wallets()
    wallet = new_wallet(repo, uuid.uuid4(), unique_card())
    assert stored_data(wallet)[0]["nickname"] is None
    assert repo.get(wallet.id).nickname is None


def test_a_subject_gets_one_key_made_in_the_writers_transaction():
    repo, customer = wallets(), uuid.uuid4()
    with pytest.raises(RuntimeError, match="undone"), repo.atomic():
        new_wallet(repo, customer, unique_card())
        raise RuntimeError("undone")
    assert not SubjectKey.objects.using("orders").filter(subject=str(customer)).exists()
    new_wallet(repo, customer, unique_card())
    new_wallet(repo, customer, unique_card())
    (key,) = SubjectKey.objects.using("orders").filter(subject=str(customer))
    assert len(bytes(key.key)) == 33 and key.forgotten_at is None  # a marker byte and 256 bits


def test_a_batch_reads_every_subjects_key_in_one_query():
    repo, customers = wallets(), [uuid.uuid4() for _ in range(3)]
    made = [new_wallet(repo, c, unique_card(), 1, 2) for c in customers for _ in range(2)]
    events = repo.store.read_many({str(w.id): 0 for w in made})
    stored = [event for stream in events.values() for event in stream]
    later_transaction()  # the writes above read the keys already
    with CaptureQueriesContext(connections["orders"]) as queries:
        decoded = repo.store.codec.decode_all(stored)
    assert len(queries) == 1, [q["sql"] for q in queries]
    cards = {e.aggregate_id: e.card for e in decoded if isinstance(e, CardAdded)}
    assert cards == {w.id: w.card for w in made}
    with CaptureQueriesContext(connections["orders"]) as queries:
        assert repo.store.codec.decode_all([e for e in stored if e.type == "Charged"])
    assert len(queries) == 0  # nothing sealed: no key wanted


def test_upcasters_see_the_plaintext():
    """A card written in shape 1 (one ``name`` text) reads as today's holder and number."""
    old, customer = wallets(), uuid.uuid4()
    wallet = new_wallet(old, customer, Card("Ada Lovelace", "4111"))
    seen = []
    upcasters = Upcasters()

    @upcasters.register("CardAdded", 1)
    def split_card(data):
        seen.append(data["card"])
        return {**data, "card": {"holder": data["card"]["holder"].upper(), "number": "****"}}

    loaded = wallets(upcasters).get(wallet.id)
    assert seen == [{"holder": "Ada Lovelace", "number": "4111"}]
    assert loaded.card == Card("ADA LOVELACE", "****")


def test_a_sealed_value_moved_to_another_subject_does_not_open():
    repo, alice, bob = wallets(), uuid.uuid4(), uuid.uuid4()
    mine, theirs = new_wallet(repo, alice, unique_card()), new_wallet(repo, bob, unique_card())
    (stolen,) = repo.store.read(mine.id)
    (target,) = repo.store.read(theirs.id)
    forged = {**target.data, "card": {**stolen.data["card"], SUBJECT: str(bob)}}
    with pytest.raises(InvalidTag):
        repo.store.codec.decode_all([type(target)(**{**vars(target), "data": forged})])


def test_keys_are_wrapped_by_the_personal_data_key(settings):
    master = base64.b64encode(bytes(range(32))).decode()
    settings.EDN_PERSONAL_DATA_KEY = master
    repo, customer, card = wallets(), uuid.uuid4(), unique_card()
    wallet = new_wallet(repo, customer, card)
    stored = bytes(SubjectKey.objects.using("orders").get(subject=str(customer)).key)
    assert stored[0] == 1 and len(stored) == 1 + 12 + 32 + 16  # marker, nonce, key, tag
    later_transaction()
    assert repo.get(wallet.id).card == card
    settings.EDN_PERSONAL_DATA_KEY = ""
    later_transaction()
    with pytest.raises(ImproperlyConfigured, match="is wrapped"):
        repo.get(wallet.id)
    settings.EDN_PERSONAL_DATA_KEY = base64.b64encode(bytes(31)).decode()
    with pytest.raises(ImproperlyConfigured, match="32 bytes"):
        repo.get(wallet.id)
    settings.EDN_PERSONAL_DATA_KEY = base64.b64encode(bytes(32)).decode()  # another key
    with pytest.raises(InvalidTag):
        repo.get(wallet.id)


def test_a_key_made_before_the_personal_data_key_was_set_stays_readable(settings):
    repo, card = wallets(), unique_card()
    wallet = new_wallet(repo, uuid.uuid4(), card)
    settings.EDN_PERSONAL_DATA_KEY = base64.b64encode(bytes(range(32))).decode()
    assert repo.get(wallet.id).card == card


def test_an_event_with_personal_data_needs_its_subject():
    repo, wallet = wallets(), Wallet(uuid.uuid4())
    wallet.add_card(None, unique_card())
    with pytest.raises(ValueError, match="no subject"):
        repo.add(wallet)


def test_events_without_personal_data_pass_through():
    repo = wallets()
    wallet = Wallet(uuid.uuid4())
    wallet.charge(3)
    repo.add(wallet)
    assert stored_data(wallet)[0]["amount"] == 3
    assert isinstance(repo.store.codec.decode(repo.store.read(wallet.id)[0]), Charged)


def test_an_importer_seals_the_data_it_builds_itself():
    repo, customer, card, stream = wallets(), uuid.uuid4(), unique_card(), uuid.uuid4()
    data = {
        "aggregate_id": str(stream),
        "occurred_at": "2026-01-01T00:00:00+00:00",
        "customer_id": str(customer),
        "card": {"holder": card.holder, "number": card.number},
        "nickname": None,
    }
    sealed = repo.store.codec.seal("CardAdded", data)
    assert card.holder not in json.dumps(sealed) and data["card"]["holder"] == card.holder
    OrderEvent.objects.using("orders").create(
        stream_id=str(stream), stream_type="wallet", version=1, type="CardAdded", data=sealed
    )
    assert repo.get(stream).card == card


def test_a_batch_of_writes_reads_every_subjects_key_in_one_query():
    """``encode_all`` (for a store that encodes a batch at once): one query for the keys."""
    codec, customers = wallets().store.codec, [uuid.uuid4() for _ in range(3)]
    events = [
        CardAdded(aggregate_id=uuid.uuid4(), customer_id=c, card=unique_card())
        for c in customers
        for _ in range(2)
    ]
    with CaptureQueriesContext(connections["orders"]) as queries:
        codec.encode_all(events)  # new subjects: read, make the missing keys, read those
    assert len(queries) == 3, [q["sql"] for q in queries]
    with CaptureQueriesContext(connections["orders"]) as queries:  # the same transaction
        codec.encode_all(events)
    assert len(queries) == 0, [q["sql"] for q in queries]
    later_transaction()
    with CaptureQueriesContext(connections["orders"]) as queries:
        encoded = codec.encode_all([*events, Charged(aggregate_id=uuid.uuid4(), amount=1)])
    assert len(queries) == 1, [q["sql"] for q in queries]
    stored = [
        StoredEvent(str(e.aggregate_id), 1, kind, n, data)
        for e, (kind, n, data) in zip(events, encoded, strict=False)
    ]
    assert [e.card for e in codec.decode_all(stored)] == [e.card for e in events]
    assert copy.copy(codec).inner is codec.inner


def test_a_key_read_in_a_transaction_is_not_read_again_in_it():
    """Proves the per-transaction key cache (edn_core/eventsourcing/keys.py): loading a sealed
    aggregate and saving it again in one transaction reads its subject's key once."""
    repo, customer = wallets(), uuid.uuid4()
    wallet = new_wallet(repo, customer, unique_card())
    later_transaction()
    with CaptureQueriesContext(connections["orders"]) as queries, repo.atomic():
        loaded = repo.get(wallet.id)
        loaded.add_card(customer, unique_card(), None)
        repo.save(loaded)
    key_reads = [q["sql"] for q in queries if SubjectKey._meta.db_table in q["sql"]]
    assert len(key_reads) == 1, key_reads


def test_a_key_made_in_a_savepoint_that_was_undone_is_made_again():
    """The cache forgets what a rolled-back savepoint read: the key made there is gone, and
    the next write makes (and stores) the key it seals with."""
    repo, customer, card = wallets(), uuid.uuid4(), unique_card()
    with pytest.raises(RuntimeError, match="undone"), repo.atomic():  # a savepoint here
        new_wallet(repo, customer, unique_card())
        raise RuntimeError("undone")
    wallet = new_wallet(repo, customer, card)
    assert SubjectKey.objects.using("orders").filter(subject=str(customer)).count() == 1
    later_transaction()
    assert repo.get(wallet.id).card == card  # sealed with the key that is stored


def test_a_subject_forgotten_in_the_transaction_reads_redacted():
    from edn_core.eventsourcing.keys import SubjectKeys

    repo, customer = wallets(), uuid.uuid4()
    wallet = new_wallet(repo, customer, unique_card())
    assert repo.get(wallet.id).card.number  # its key is read in this transaction
    SubjectKeys("orders").forget(str(customer))
    assert SubjectKeys("orders").for_reading([str(customer)]) == {str(customer): None}
