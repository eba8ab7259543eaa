"""Abstract event-store tables. An event-sourced service app declares the concrete ones in its
own models.py (like the bus tables), so they live in the app's alias and share its
transactions: an append, its outbox rows and an inline change commit together."""

from django.db import models
from django.utils import timezone

__all__ = ["ProjectionStateBase", "SnapshotBase", "StoredEventBase", "SubjectKeyBase"]


class StoredEventBase(models.Model):
    """One event of one stream. ``id`` is the global position (allotted at insert, so not in
    commit order); ``tx`` and ``ordering_key`` make projections gap-safe on PostgreSQL
    (decision 0068): ``ordering_key = max(tx, ordering_key of the stream's previous event)``.
    On SQLite both are 0 and commit order is position order."""

    id = models.BigAutoField(primary_key=True)
    stream_id = models.CharField(max_length=100)
    stream_type = models.CharField(max_length=100)
    version = models.BigIntegerField()
    type = models.CharField(max_length=200)
    schema_version = models.PositiveSmallIntegerField(default=1)
    data = models.JSONField()
    metadata = models.JSONField(default=dict)
    recorded_at = models.DateTimeField(default=timezone.now)
    tx = models.BigIntegerField(default=0)
    ordering_key = models.BigIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(
                fields=["stream_id", "version"], name="%(app_label)s_event_version_once"
            )
        ]
        indexes = [
            models.Index(fields=["ordering_key", "id"], name="%(app_label)s_event_order"),
            models.Index(fields=["recorded_at"], name="%(app_label)s_event_time"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.version} of {self.stream_id}"


class SnapshotBase(models.Model):
    """The newest snapshot of a stream: the state at ``version`` in the shape
    ``snapshot_version`` of the aggregate (another shape is ignored on load)."""

    id = models.BigAutoField(primary_key=True)
    stream_id = models.CharField(max_length=100, unique=True)
    version = models.BigIntegerField()
    snapshot_version = models.PositiveSmallIntegerField()
    state = models.JSONField()
    taken_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"snapshot of {self.stream_id} at {self.version}"


class ProjectionStateBase(models.Model):
    """Where a projection stands: the ``(ordering_key, position)`` of the last event applied,
    written in the same transaction as its read-model rows. One row per generation: a rebuild
    writes the next generation beside the live one in the same tables, then becomes the live
    one (decision 0070)."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=100)
    generation = models.PositiveIntegerField(default=1)
    live = models.BooleanField(default=True)
    ordering_key = models.BigIntegerField(default=0)
    position = models.BigIntegerField(default=0)
    applied = models.BigIntegerField(default=0, help_text="events applied by this generation")
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    caught_up_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["name", "generation"], name="%(app_label)s_projection_generation_once"
            )
        ]

    def __str__(self) -> str:
        return f"projection {self.name} (generation {self.generation})"


class SubjectKeyBase(models.Model):
    """The key that seals a data subject's personal fields; destroying it forgets them."""

    id = models.BigAutoField(primary_key=True)
    subject = models.CharField(max_length=100, unique=True)
    key = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    forgotten_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"key of {self.subject}" + (" (forgotten)" if self.forgotten_at else "")
