"""A codec that keeps events' personal fields sealed with their data subject's key.

On encode each field an event declares personal (``edn_core.eventsourcing.personal``) is
stored as ``{"$sealed": base64(nonce + AES-GCM ciphertext of its JSON), "$subject": id}``:
nothing of the value is readable, and the subject's id beside it finds the streams to clean
when the subject is forgotten. On decode the keys of every subject of the batch are read in
one query and each field is opened -- or, once its key is destroyed, replaced by the redacted
value its event type declares -- before upcasting, so upcasters see today's plaintext.
"""

from __future__ import annotations

import base64
import copy
import json
import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import connections, transaction

from edn_core.bus.stores import find_model
from edn_core.domain import DomainEvent
from edn_core.eventsourcing.codec import EventCodec, StoredEvent, to_json
from edn_core.eventsourcing.keys import SubjectKeys
from edn_core.eventsourcing.models import SnapshotBase
from edn_core.eventsourcing.personal import PersonalData, personal_data_of

__all__ = ["SEALED", "SUBJECT", "SealingCodec", "is_sealed"]

SEALED, SUBJECT = "$sealed", "$subject"


def is_sealed(value: Any) -> bool:
    """Whether ``value`` (a field of an event's stored data) is a sealed personal field."""
    return isinstance(value, dict) and SEALED in value


class SealingCodec:
    """``codec`` with the personal fields of its events sealed by keys kept in
    ``app_label``'s ``SubjectKey`` table (in the app's alias, in the writer's transaction).

    A subject forgotten already gets no new key: its new personal fields are stored redacted
    (and a snapshot of their stream taken in that transaction is dropped on commit).
    """

    def __init__(self, codec: EventCodec, app_label: str) -> None:
        self.inner, self.keys = codec, SubjectKeys(app_label)
        self._redacted: dict[tuple[str, str], Any] = {}

    def __getattr__(self, name: str) -> Any:  # upcasters, and anything else of the codec
        if name == "inner":  # not made yet (a copy being built)
            raise AttributeError(name)
        return getattr(self.inner, name)

    def encode(self, event: DomainEvent) -> tuple[str, int, dict[str, Any]]:
        """Return ``(type, schema version, data)`` with the declared fields sealed."""
        return self.encode_all([event])[0]

    def encode_all(self, events: Sequence[DomainEvent]) -> list[tuple[str, int, dict]]:
        """:meth:`encode` each event, with the keys of all their subjects in one query."""
        encoded = [self.inner.encode(event) for event in events]
        sealed = self.seal_all([(kind, data) for kind, _, data in encoded])
        return [(kind, n, data) for (kind, n, _), data in zip(encoded, sealed, strict=True)]

    def seal(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` of an event of type ``kind`` (today's shape) with its declared fields
        sealed: for writers that build stored data themselves, e.g. an import."""
        return self.seal_all([(kind, data)])[0]

    def seal_all(self, events: Sequence[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """:meth:`seal` each ``(type, data)``, with the keys of all subjects in one query."""
        declared = [personal_data_of(self.inner._types.get(kind, object)) for kind, _ in events]
        pairs = list(zip(events, declared, strict=True))
        for (kind, data), personal in pairs:
            if personal and data.get(personal.subject) is None:
                raise ValueError(f"{kind} holds personal data but no subject ({personal.subject})")
        subjects = {str(data[p.subject]) for (_, data), p in pairs if p}
        keys = self.keys.for_writing(subjects) if subjects else {}
        return [
            self._sealed(personal, data, keys) if personal else data
            for (_, data), personal in pairs
        ]

    def _sealed(self, personal: PersonalData, data: dict, keys: dict) -> dict[str, Any]:
        subject = str(data[personal.subject])
        key, data = keys[subject], dict(data)
        for name, redacted in personal.fields.items():
            if data.get(name) is None:
                continue
            data[name] = _seal(key, subject, name, data[name]) if key else to_json(redacted)
            if key is None:
                self._drop_snapshot_on_commit(str(data["aggregate_id"]))
        return data

    def _drop_snapshot_on_commit(self, stream_id: str) -> None:
        # The aggregate in memory applied the plaintext this event was given before it was
        # stored redacted: a snapshot taken of it in this transaction must not outlive it.
        alias = self.keys.alias
        if connections[alias].in_atomic_block:
            snapshots = find_model(self.keys.app_label, SnapshotBase)._default_manager.using(alias)
            drop = snapshots.filter(stream_id=stream_id).delete
            transaction.on_commit(drop, using=alias)

    def decode(self, stored: StoredEvent) -> DomainEvent:
        return self.decode_all([stored])[0]

    def decode_all(self, stored: Sequence[StoredEvent]) -> list[DomainEvent]:
        """Return the events ``stored`` hold (their subjects' keys in one query)."""
        return self.inner.decode_all(self.unseal_all(stored))

    def unseal_all(self, stored: Sequence[StoredEvent]) -> list[StoredEvent]:
        """``stored`` with each sealed field opened, or redacted when its subject was forgotten
        (for whoever shows stored data: an audit trail, the admin)."""
        subjects = {
            value[SUBJECT] for event in stored for value in event.data.values() if is_sealed(value)
        }
        if not subjects:
            return list(stored)
        ciphers = {s: AESGCM(k) for s, k in self.keys.for_reading(subjects).items() if k}
        unsealed = []
        for event in stored:
            if any(is_sealed(value) for value in event.data.values()):
                data = {
                    name: self._open(ciphers, event.type, name, value)
                    if is_sealed(value)
                    else value
                    for name, value in event.data.items()
                }
                event = replace(event, data=data)
            unsealed.append(event)
        return unsealed

    def _open(self, ciphers: dict[str, AESGCM], kind: str, name: str, value: dict) -> Any:
        subject = value[SUBJECT]
        cipher = ciphers.get(subject)
        if cipher is None:
            return self.redacted(kind, name)
        sealed = base64.b64decode(value[SEALED])
        return json.loads(cipher.decrypt(sealed[:12], sealed[12:], _context(subject, name)))

    def redacted(self, kind: str, name: str) -> Any:
        """The stored (JSON) form of field ``name``'s redacted value in events of ``kind``."""
        if (kind, name) not in self._redacted:
            declared = personal_data_of(self.inner._types.get(kind, object))
            value = declared.fields.get(name) if declared else None
            self._redacted[kind, name] = to_json(value)
        return copy.deepcopy(self._redacted[kind, name])  # the reader may change its copy


def _seal(key: bytes, subject: str, name: str, value: Any) -> dict[str, str]:
    nonce = os.urandom(12)
    plaintext = json.dumps(value, separators=(",", ":")).encode()
    sealed = nonce + AESGCM(key).encrypt(nonce, plaintext, _context(subject, name))
    return {SEALED: base64.b64encode(sealed).decode(), SUBJECT: subject}


def _context(subject: str, name: str) -> bytes:
    # Bound to its subject and field: a sealed value moved elsewhere does not open.
    return f"{subject}\x1f{name}".encode()
