"""Forget a data subject in one app: destroy its key and drop the copies that hold its data
decrypted or in plaintext (what ``python manage.py edn_forget`` does; decision 0071).

In one transaction of the app's alias: the subject's key is destroyed (its sealed fields now
read as their redacted values), the snapshots of the streams holding its sealed fields are
deleted (they hold decrypted state), the already published outbox rows of those streams are
deleted (kept for a few days only, and they may carry what the events published), and so are
resolved dead letters whose message names the subject (still open ones only with
``purge_failed``: deleting them gives up their delivery). After commit ``subject_forgotten``
tells projections which streams to re-project. Running it again does it all again: a run that
stopped half-way is finished by the next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.apps import apps
from django.db import connections, transaction

from edn_core.bus.models import FailedDeliveryBase, OutboxMessageBase
from edn_core.bus.stores import find_model
from edn_core.eventsourcing.keys import SubjectKeys
from edn_core.eventsourcing.models import SnapshotBase, StoredEventBase, SubjectKeyBase
from edn_core.eventsourcing.sealing import SUBJECT
from edn_core.eventsourcing.signals import subject_forgotten
from edn_core.routers import alias_for

__all__ = ["Forgotten", "apps_with_subject_keys", "forget_subject", "streams_sealed_for"]

CHUNK = 500  # ids per IN list (SQLite's bound parameters)


@dataclass
class Forgotten:
    """What forgetting ``subject`` in ``app_label`` did."""

    app_label: str
    subject: str
    newly: bool  # False: the key was destroyed by an earlier run
    forgotten_at: datetime
    stream_ids: list[str]
    snapshots_deleted: int = 0
    sent_outbox_deleted: int = 0
    pending_outbox: int = 0  # rows of those streams not published yet: they leave as written
    failed_deleted: int = 0
    failed_kept: list[tuple[int, str, str]] = field(default_factory=list)  # (id, topic, status)


def apps_with_subject_keys() -> list[str]:
    """The labels of the apps that declare a ``SubjectKey`` table."""
    return sorted({m._meta.app_label for m in apps.get_models() if issubclass(m, SubjectKeyBase)})


def forget_subject(app_label: str, subject: str, *, purge_failed: bool = False) -> Forgotten:
    """Forget ``subject`` in ``app_label`` (see the module); return what was done."""
    alias, keys = alias_for(app_label), SubjectKeys(app_label)
    with transaction.atomic(using=alias):
        newly, when = keys.forget(subject)
        streams = streams_sealed_for(app_label, subject)
        done = Forgotten(app_label, subject, newly, when, streams)
        snapshots = find_model(app_label, SnapshotBase)._default_manager.using(alias)
        for chunk in _chunks(streams):
            done.snapshots_deleted += snapshots.filter(stream_id__in=chunk).delete()[0]
        _clean_bus_tables(app_label, alias, done, purge_failed)
    subject_forgotten.send(
        sender=keys.model, app_label=app_label, subject=subject, stream_ids=streams
    )
    return done


def streams_sealed_for(app_label: str, subject: str) -> list[str]:
    """The streams of ``app_label`` with a field sealed by ``subject``'s key, in one scan of
    the events (any field name, so also shapes older than today's)."""
    model = find_model(app_label, StoredEventBase)
    connection = connections[alias_for(app_label)]
    table = connection.ops.quote_name(model._meta.db_table)
    if connection.vendor == "postgresql":
        field_of_subject = "SELECT 1 FROM jsonb_each(e.data) f WHERE f.value ->> %s = %s"
        params = [SUBJECT, subject]
    else:  # SQLite: json_extract only on objects (a plain text value is not JSON)
        field_of_subject = (
            "SELECT 1 FROM json_each(e.data) f WHERE "
            "CASE WHEN f.type = 'object' THEN json_extract(f.value, %s) END = %s"
        )
        params = [f'$."{SUBJECT}"', subject]
    sql = f"SELECT DISTINCT e.stream_id FROM {table} e WHERE EXISTS ({field_of_subject})"
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY e.stream_id", params)
        return [row[0] for row in cursor.fetchall()]


def _clean_bus_tables(app_label: str, alias: str, done: Forgotten, purge_failed: bool) -> None:
    try:
        outbox = find_model(app_label, OutboxMessageBase)._default_manager.using(alias)
        failed = find_model(app_label, FailedDeliveryBase)._default_manager.using(alias)
    except LookupError:  # an app without bus tables
        return
    for chunk in _chunks(done.stream_ids):
        of_streams = outbox.filter(aggregate_id__in=chunk)
        done.sent_outbox_deleted += of_streams.filter(sent_at__isnull=False).delete()[0]
        done.pending_outbox += of_streams.count()
    naming = failed.filter(envelope__contains=f'"{done.subject}"')
    if not purge_failed:
        done.failed_kept = list(
            naming.exclude(status=FailedDeliveryBase.RESOLVED).values_list("id", "topic", "status")
        )
        naming = naming.filter(status=FailedDeliveryBase.RESOLVED)
    done.failed_deleted = naming.delete()[0]


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]
