"""Abstract bus tables. Each service app declares the concrete ones in its own models.py, so
they live in the app's alias and share its transactions (see docs/decisions)."""

from django.db import models
from django.utils import timezone

__all__ = ["AggregateCheckpointBase", "FailedDeliveryBase", "InboxEntryBase", "OutboxMessageBase"]


class OutboxMessageBase(models.Model):
    """An integration event waiting to be (or already) published."""

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True)
    topic = models.CharField(max_length=200)
    aggregate_id = models.CharField(max_length=100)
    sequence = models.BigIntegerField()
    partition = models.PositiveSmallIntegerField()
    envelope = models.TextField(help_text="CloudEvents structured JSON, published as is")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        abstract = True
        ordering = ("id",)
        indexes = [
            # Pending rows in id order (the relay reads the oldest first and stops at its
            # batch), the partition beside the id so rows of partitions held by another relay
            # are skipped in the index.
            models.Index(
                fields=["id", "partition"],
                condition=models.Q(sent_at__isnull=True),
                name="%(app_label)s_outbox_pending",
            ),
            models.Index(fields=["sent_at"], name="%(app_label)s_outbox_sent"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.sequence} of {self.aggregate_id}"


class InboxEntryBase(models.Model):
    """Proof that ``consumer`` handled ``event_id``: written in the handler's own transaction."""

    id = models.BigAutoField(primary_key=True)
    consumer = models.CharField(max_length=200)
    event_id = models.CharField(max_length=100)
    topic = models.CharField(max_length=200)
    aggregate_id = models.CharField(max_length=100)
    sequence = models.BigIntegerField()
    # The delivery outcome (edn_core.bus.dispatch): handled, or stale (latest-wins skipped it).
    outcome = models.CharField(max_length=20, default="handled")
    processed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        verbose_name_plural = "inbox entries"
        constraints = [
            models.UniqueConstraint(
                fields=["consumer", "event_id"], name="%(app_label)s_inbox_once"
            )
        ]
        indexes = [models.Index(fields=["processed_at"], name="%(app_label)s_inbox_age")]


class FailedDeliveryBase(models.Model):
    """A delivery whose handler failed (a dead letter): retried with backoff while attempts
    remain, then ``dead`` until replayed."""

    RETRYING, DEAD, RESOLVED = "retrying", "dead", "resolved"
    STATUSES = [(RETRYING, "retrying"), (DEAD, "dead letter"), (RESOLVED, "resolved")]

    id = models.BigAutoField(primary_key=True)
    consumer = models.CharField(max_length=200)
    event_id = models.CharField(max_length=100)
    topic = models.CharField(max_length=200)
    envelope = models.TextField()
    status = models.CharField(max_length=10, choices=STATUSES, default=RETRYING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        verbose_name, verbose_name_plural = "dead letter", "dead letters"
        constraints = [
            models.UniqueConstraint(
                fields=["consumer", "event_id"], name="%(app_label)s_failed_delivery_once"
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="%(app_label)s_failed_due")
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.event_id} -> {self.consumer} ({self.status})"


class AggregateCheckpointBase(models.Model):
    """The newest sequence a latest-wins consumer applied per aggregate."""

    id = models.BigAutoField(primary_key=True)
    consumer = models.CharField(max_length=200)
    aggregate_id = models.CharField(max_length=100)
    sequence = models.BigIntegerField()

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["consumer", "aggregate_id"], name="%(app_label)s_checkpoint_once"
            )
        ]
