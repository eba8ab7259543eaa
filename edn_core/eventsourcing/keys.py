"""Data subjects' keys in an app's ``SubjectKey`` table, in the app's own alias.

A subject's 256-bit AES-GCM key is made the first time one of its personal fields is written,
in the transaction of that write. Forgetting sets it NULL and keeps the row (``forgotten_at``)
so no new key is ever made for that subject. With ``EDN_PERSONAL_DATA_KEY`` set (base64 of 32
bytes) each key is stored wrapped by it, so a copy of the database alone opens nothing; a key
stored before that setting existed stays readable (decision 0071).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterable
from datetime import datetime
from functools import cached_property

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, transaction
from django.utils import timezone

from edn_core.bus.stores import find_model
from edn_core.conf import edn_settings
from edn_core.eventsourcing.models import SubjectKeyBase
from edn_core.routers import alias_for
from edn_core.sql_reads import select_in

__all__ = ["SubjectKeys"]

_PLAIN, _WRAPPED = b"\x00", b"\x01"  # the first byte of a stored key says how it is kept


class SubjectKeys:
    """The subject keys of ``app_label``."""

    def __init__(self, app_label: str) -> None:
        self.app_label = app_label

    @cached_property
    def model(self) -> type[SubjectKeyBase]:
        return find_model(self.app_label, SubjectKeyBase)  # type: ignore[return-value]

    @property
    def alias(self) -> str:
        return alias_for(self.app_label)

    @property
    def rows(self):
        return self.model._default_manager.using(self.alias)

    def for_writing(self, subjects: Iterable[str]) -> dict[str, bytes | None]:
        """The keys of ``subjects``, made now for those without one (one query when all have
        one); None for a forgotten subject."""
        wanted = set(subjects)
        found = self._stored(wanted) if wanted else {}
        missing = wanted - set(found)
        if missing:
            # Two writers of a new subject: ON CONFLICT DO NOTHING, then both read the winner's.
            made = [
                self.model(subject=s, key=_wrap(s, AESGCM.generate_key(bit_length=256)))
                for s in sorted(missing)
            ]
            self.rows.bulk_create(made, ignore_conflicts=True)
            found |= self._stored(missing)
        return found

    def for_reading(self, subjects: Iterable[str]) -> dict[str, bytes | None]:
        """The keys of ``subjects`` in one query: None for a forgotten (or unknown) one."""
        wanted = set(subjects)
        found = self._stored(wanted) if wanted else {}
        return {subject: found.get(subject) for subject in wanted}

    def forget(self, subject: str) -> tuple[bool, datetime]:
        """Destroy the subject's key (a subject not seen yet gets a forgotten row, so none is
        ever made). Return ``(forgotten by this call, when it was forgotten)``."""
        now = timezone.now()
        self.rows.bulk_create(
            [self.model(subject=subject, key=None, forgotten_at=now)], ignore_conflicts=True
        )
        if cache := _transaction_cache(self.alias, self.app_label):
            cache.drop(subject)
        changed = self.rows.filter(subject=subject, forgotten_at__isnull=True).update(
            key=None, forgotten_at=now
        )
        row = self.rows.filter(subject=subject).values_list("key", "forgotten_at").get()
        if row[0] is not None:  # a forgotten row whose key is back: refuse to go on silently
            raise RuntimeError(f"the key of {subject} survived forgetting")
        return bool(changed) or row[1] == now, row[1]

    def _stored(self, subjects: Iterable[str]) -> dict[str, bytes | None]:
        """The stored keys of ``subjects`` (absent: no row). Inside a transaction a key read
        once is not read again (an event store's load and save read the same subjects'
        keys): see :func:`_transaction_cache`."""
        wanted = set(subjects)
        cache = _transaction_cache(self.alias, self.app_label)
        found = cache.get(wanted) if cache else {}
        if missing := wanted - found.keys():
            rows = select_in(self.model, self.alias, ("subject", "key"), "subject", list(missing))
            read = {s: None if key is None else _unwrap(s, bytes(key)) for s, key in rows}
            if cache:
                cache.put(read)
            found |= read
        return found


class _KeyCache:
    """Keys read in the current transaction, each valid while the ``on_commit`` marker
    registered when it was read is pending: Django drops the markers of a savepoint it rolls
    back (and all of them at commit or rollback), so a key read inside a savepoint that was
    undone -- one made there, say -- is read again."""

    def __init__(self, connection) -> None:
        self.connection, self.entries = connection, {}

    def get(self, subjects: set[str]) -> dict[str, bytes | None]:
        pending = self._pending()
        return {
            s: entry[1]
            for s in subjects
            if (entry := self.entries.get(s)) is not None and id(entry[0]) in pending
        }

    def put(self, keys: dict[str, bytes | None]) -> None:
        def marker() -> None:  # run (and dropped) at commit
            return None

        pending = self._pending()  # what earlier transactions left goes
        self.entries = {s: e for s, e in self.entries.items() if id(e[0]) in pending}
        transaction.on_commit(marker, using=self.connection.alias)
        self.entries.update((s, (marker, key)) for s, key in keys.items())

    def _pending(self) -> set[int]:
        return {id(func) for _, func, _ in self.connection.run_on_commit}

    def drop(self, subject: str) -> None:
        self.entries.pop(subject, None)


def _transaction_cache(alias: str, app_label: str) -> _KeyCache | None:
    """The key cache of this connection's transaction (None outside one, or in one that is
    to be rolled back)."""
    connection = connections[alias]
    if not connection.in_atomic_block or connection.needs_rollback:
        return None
    caches = connection.__dict__.setdefault("_edn_subject_keys", {})
    return caches.setdefault(app_label, _KeyCache(connection))


def _wrap(subject: str, key: bytes) -> bytes:
    master = _master_key()
    if master is None:
        return _PLAIN + key
    nonce = os.urandom(12)
    return _WRAPPED + nonce + AESGCM(master).encrypt(nonce, key, subject.encode())


def _unwrap(subject: str, stored: bytes) -> bytes:
    if stored[:1] == _PLAIN:
        return stored[1:]
    master = _master_key()
    if master is None:
        raise ImproperlyConfigured(
            f"the key of {subject} is wrapped: set EDN_PERSONAL_DATA_KEY to the key it was "
            "wrapped with"
        )
    return AESGCM(master).decrypt(stored[1:13], stored[13:], subject.encode())


def _master_key() -> bytes | None:
    given = edn_settings().personal_data_key
    if not given:
        return None
    try:
        key = base64.b64decode(given, validate=True)
    except binascii.Error:
        key = b""
    if len(key) != 32:
        raise ImproperlyConfigured("EDN_PERSONAL_DATA_KEY must be the base64 of 32 bytes")
    return key
