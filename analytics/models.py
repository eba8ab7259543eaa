"""Persistence of the Analytics aggregate and its mapping to and from the domain, the
app's bus tables, and its activity (the events it reacted to: a read model)."""

from django.db import models
from django.utils import timezone

from analytics.domain import NAME_MAX, Analytics
from edn_core.bus import models as bus
from edn_core.persistence import Repository
from edn_core.streams import models as streams


class AnalyticsRecord(models.Model):
    id = models.UUIDField(primary_key=True)
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=NAME_MAX)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "analytics_analytics"
        verbose_name = "analytics"
        ordering = ("name", "id")

    def __str__(self) -> str:
        return self.name


class AnalyticsRepository(Repository[Analytics]):
    model = AnalyticsRecord

    def to_domain(self, row: AnalyticsRecord) -> Analytics:
        return Analytics(row.id, name=row.name, version=row.version)

    def to_fields(self, aggregate: Analytics) -> dict:
        return {"name": aggregate.name, "updated_at": timezone.now()}


class AnalyticsActivity(models.Model):
    """An event this service reacted to (a read model kept by its subscriptions)."""

    id = models.BigAutoField(primary_key=True)
    topic = models.CharField(max_length=200)
    event_id = models.CharField(max_length=100, unique=True)
    subject = models.CharField(max_length=100, help_text="the aggregate the event is about")
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "analytics_activity"
        verbose_name = "analytics activity"
        verbose_name_plural = "analytics activity"
        ordering = ("-occurred_at", "-id")
        indexes = [models.Index(fields=["topic", "occurred_at"], name="analytics_activity_topic")]

    def __str__(self) -> str:
        return f"{self.topic} {self.event_id}"


class OutboxMessage(bus.OutboxMessageBase):
    pass


class InboxEntry(bus.InboxEntryBase):
    pass


class FailedDelivery(bus.FailedDeliveryBase):
    pass


class AggregateCheckpoint(bus.AggregateCheckpointBase):
    pass


class StreamDefinition(streams.StreamDefinitionBase):
    pass


class StreamEntry(streams.StreamEntryBase):
    pass


class StreamGroupOffset(streams.StreamGroupOffsetBase):
    pass


class ProcessorPosition(streams.ProcessorPositionBase):
    pass


class ProcessorWindow(streams.ProcessorWindowBase):
    pass


class WindowResult(streams.WindowResultBase):
    pass


class ProcessorLateRecord(streams.ProcessorLateRecordBase):
    pass


class ProcessorDeadLetter(streams.ProcessorDeadLetterBase):
    pass
