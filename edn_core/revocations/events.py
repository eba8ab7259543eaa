"""``v1.SubjectRevoked``: published with the change that revokes (or by ``edn_revoke``), and
kept by every service in its revocation list."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.utils import timezone

from edn_core.bus.outbox import enqueue_message
from edn_core.bus.subscriptions import subscribe
from edn_core.conf import edn_settings
from edn_core.events import IntegrationEvent, sends
from edn_core.revocations import APP, TOPIC
from edn_core.revocations.cache import revocation_list
from edn_core.revocations.models import ListVersion, Revocation

__all__ = ["record_revocations", "revoke"]

sends(TOPIC, app=APP)


def revoke(subject: str, *, reason: str, at: datetime | None = None) -> IntegrationEvent:
    """Publish that the tokens of ``subject`` issued before ``at`` (now) no longer count, in
    the open transaction on this app's database (``default``, where the users are)."""
    at = at or timezone.now()
    data = {"subject": subject, "notBefore": at.isoformat(), "reason": reason[:200]}
    return enqueue_message(APP, TOPIC, data, key=_key(subject))


def _key(subject: str) -> str:
    """The subject orders its revocations; one longer than an outbox key is hashed."""
    if len(subject) <= 100:
        return subject
    return "sha256:" + hashlib.sha256(subject.encode()).hexdigest()


@subscribe(TOPIC, app=APP, batch=True)
def record_revocations(events: list[IntegrationEvent]) -> None:
    """Keep the latest not-before time per subject (a redelivered or older event changes
    nothing), and forget revocations older than the retention: their tokens have expired."""
    latest: dict[str, tuple[datetime, str]] = {}
    for event in events:
        at = datetime.fromisoformat(event.data["notBefore"])
        subject = event.data["subject"]
        if subject not in latest or at > latest[subject][0]:
            latest[subject] = (at, event.data["reason"])
    rows = Revocation.objects.select_for_update().filter(subject__in=latest)
    known = {row.subject: row for row in rows}
    changed = []
    for subject, (at, reason) in latest.items():
        row = known.get(subject)
        if row is None:
            changed.append(Revocation(subject=subject, not_before=at, reason=reason))
        elif at > row.not_before:
            row.not_before, row.reason, row.recorded_at = at, reason, timezone.now()
            row.save(update_fields=["not_before", "reason", "recorded_at"])
    Revocation.objects.bulk_create(changed)
    retention = timedelta(days=edn_settings().revocations.retention_days)
    Revocation.objects.filter(not_before__lt=timezone.now() - retention).delete()
    ListVersion.bump()
    revocation_list.forget()  # this process reads it again at its next request
