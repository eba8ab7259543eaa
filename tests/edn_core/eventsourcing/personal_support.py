"""What the personal-data tests share: a wallet whose card is its customer's personal data
(kept in the orders app's store tables as another stream type), and a dump of an alias."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass

from django.db import connections

from edn_core.domain import DomainEvent
from edn_core.eventsourcing import EventCodec, EventSourcedAggregate, Upcasters, applies
from edn_core.eventsourcing.personal import REDACTED, personal_data
from edn_core.eventsourcing.repository import EventSourcedRepository
from edn_core.eventsourcing.sealing import SealingCodec
from edn_core.eventsourcing.store import EventStore


@dataclass(frozen=True)
class Card:
    holder: str
    number: str


HIDDEN_CARD = Card(REDACTED, REDACTED)


@personal_data(subject="customer_id", card=HIDDEN_CARD, nickname=REDACTED)
@dataclass(frozen=True, kw_only=True)
class CardAdded(DomainEvent):
    customer_id: uuid.UUID
    card: Card
    nickname: str | None = None


@dataclass(frozen=True, kw_only=True)
class Charged(DomainEvent):
    amount: int


class Wallet(EventSourcedAggregate):
    snapshot_every = 2

    def __init__(self, id):
        super().__init__(id)
        self.customer_id, self.card, self.nickname, self.charged = None, None, None, 0

    def add_card(self, customer_id, card: Card, nickname: str | None = None) -> None:
        self.emit(
            CardAdded(aggregate_id=self.id, customer_id=customer_id, card=card, nickname=nickname)
        )

    def charge(self, amount: int) -> None:
        self.emit(Charged(aggregate_id=self.id, amount=amount))

    @applies(CardAdded)
    def _card_added(self, event: CardAdded) -> None:
        self.customer_id, self.card, self.nickname = event.customer_id, event.card, event.nickname

    @applies(Charged)
    def _charged(self, event: Charged) -> None:
        self.charged += event.amount

    def to_snapshot(self) -> dict:
        card = self.card and {"holder": self.card.holder, "number": self.card.number}
        return {
            "customer_id": str(self.customer_id),
            "card": card,
            "nickname": self.nickname,
            "charged": self.charged,
        }

    @classmethod
    def from_snapshot(cls, id, state):
        wallet = cls(id)
        wallet.customer_id = uuid.UUID(state["customer_id"])
        wallet.card = state["card"] and Card(**state["card"])
        wallet.nickname, wallet.charged = state["nickname"], state["charged"]
        return wallet


def wallets(upcasters: Upcasters | None = None, sealed: bool = True):
    """A repository of wallets (and its store) in the orders app's tables."""
    codec = EventCodec(CardAdded, Charged, upcasters=upcasters)
    store = EventStore("orders", "wallet", SealingCodec(codec, "orders") if sealed else codec)
    return EventSourcedRepository(Wallet, store)


def unique_card() -> Card:
    """A card whose texts occur nowhere else (searched for in dumps)."""
    tag = uuid.uuid4().hex
    return Card(f"holder-{tag}", f"number-{tag}")


def dump(alias: str) -> str:
    """Every row of every table of ``alias`` as text: ``pg_dump`` of the database on
    PostgreSQL (committed rows only: use it in transactional tests), each table's rows read
    through the connection on SQLite."""
    connection = connections[alias]
    if connection.vendor == "postgresql":
        settings = connection.settings_dict
        assert shutil.which("pg_dump"), "pg_dump is needed to check a PostgreSQL dump"
        command = ["pg_dump", "--data-only", "--no-owner", "-h", settings["HOST"] or "localhost"]
        command += ["-p", str(settings["PORT"] or 5432), "-U", settings["USER"], settings["NAME"]]
        env = os.environ | ({"PGPASSWORD": settings["PASSWORD"]} if settings["PASSWORD"] else {})
        run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
        assert run.returncode == 0, run.stderr
        return run.stdout
    texts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            texts += [table, *(repr(row) for row in cursor.fetchall())]
    return "\n".join(texts)


def later_transaction() -> None:
    """Read keys as a later transaction would: a test runs in one transaction, inside which
    a subject's key, once read, is not read again (edn_core/eventsourcing/keys.py)."""
    for connection in connections.all(initialized_only=True):
        connection.__dict__.pop("_edn_subject_keys", None)
