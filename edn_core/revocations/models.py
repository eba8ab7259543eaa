"""The revocation list of this service, and the bus tables of the app (in ``default``)."""

import uuid

from django.db import models
from django.utils import timezone

from edn_core.bus import models as bus


class Revocation(models.Model):
    """Tokens of ``subject`` issued before ``not_before`` no longer count."""

    subject = models.CharField(max_length=255, primary_key=True)
    not_before = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-not_before",)
        indexes = [models.Index(fields=["not_before"], name="edn_revocations_age")]

    def __str__(self) -> str:
        return f"{self.subject} before {self.not_before.isoformat()}"


class ListVersion(models.Model):
    """One row whose ``token`` every change of the list replaces (in the change's
    transaction): a process whose list was read at this token need not read it again."""

    token = models.CharField(max_length=32)

    def __str__(self) -> str:
        return f"revocation list version {self.token}"

    @classmethod
    def bump(cls) -> None:
        token = uuid.uuid4().hex  # random, not counted: a rolled-back change never repeats one
        if not cls.objects.filter(pk=1).update(token=token):
            cls.objects.create(pk=1, token=token)

    @classmethod
    def current(cls) -> str | None:
        return cls.objects.filter(pk=1).values_list("token", flat=True).first()


class OutboxMessage(bus.OutboxMessageBase):
    pass


class InboxEntry(bus.InboxEntryBase):
    pass


class FailedDelivery(bus.FailedDeliveryBase):
    pass


class AggregateCheckpoint(bus.AggregateCheckpointBase):
    pass
