"""The revocation list of this service, and the bus tables of the app (in ``default``)."""

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


class OutboxMessage(bus.OutboxMessageBase):
    pass


class InboxEntry(bus.InboxEntryBase):
    pass


class FailedDelivery(bus.FailedDeliveryBase):
    pass


class AggregateCheckpoint(bus.AggregateCheckpointBase):
    pass
