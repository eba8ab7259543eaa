"""Abstract tables of the database stream log (``edn_core.streams.database``). The service
app that hosts the log declares the concrete ones in its own models.py, so they live in its
alias and share its transactions (an inbox row, processor state, a committed offset and the
entries appended commit together). The processors' tables (positions, window state, results,
late records, dead letters) are in ``runtime_models``, re-exported here."""

from django.db import models
from django.utils import timezone

from edn_core.streams.runtime_models import (
    ProcessorDeadLetterBase,
    ProcessorLateRecordBase,
    ProcessorPositionBase,
    ProcessorWindowBase,
    WindowResultBase,
)

__all__ = [
    "ProcessorDeadLetterBase",
    "ProcessorLateRecordBase",
    "ProcessorPositionBase",
    "ProcessorWindowBase",
    "StreamDefinitionBase",
    "StreamEntryBase",
    "StreamGroupOffsetBase",
    "WindowResultBase",
]


class StreamDefinitionBase(models.Model):
    """One row per partition of a stream: the stream's shape and the partition's append
    counter. Appenders lock the rows of the partitions they append to (``SELECT … FOR
    UPDATE``) and move ``last_offset`` on, so offsets are handed out in commit order."""

    id = models.BigAutoField(primary_key=True)
    stream = models.CharField(max_length=200)
    partition = models.PositiveIntegerField()
    partitions = models.PositiveIntegerField(help_text="the stream's partition count")
    last_offset = models.BigIntegerField(default=0, help_text="the last offset handed out")
    last_appended_at = models.DateTimeField(
        null=True, blank=True, help_text="append times never go back within a partition"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ("stream", "partition")
        constraints = [
            models.UniqueConstraint(
                fields=["stream", "partition"], name="%(app_label)s_stream_partition_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.stream}/{self.partition}"


class StreamEntryBase(models.Model):
    """An entry of a stream's partition, numbered by ``offset`` (1, 2, … in append order).
    ``entry_id``: the id it was appended with, if any (unique in its stream: appending it
    again appends nothing)."""

    id = models.BigAutoField(primary_key=True)
    stream = models.CharField(max_length=200)
    partition = models.PositiveIntegerField()
    offset = models.BigIntegerField()
    key = models.CharField(max_length=200)
    value = models.JSONField()
    headers = models.JSONField(default=dict)
    appended_at = models.DateTimeField()
    # NULL, not "": entries without an id must not collide in the unique (stream, entry_id)
    entry_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001

    class Meta:
        abstract = True
        ordering = ("stream", "partition", "offset")
        verbose_name_plural = "stream entries"
        constraints = [
            models.UniqueConstraint(
                fields=["stream", "partition", "offset"], name="%(app_label)s_stream_entry_once"
            ),
            models.UniqueConstraint(
                fields=["stream", "entry_id"], name="%(app_label)s_stream_entry_id_once"
            ),
        ]
        indexes = [
            # replay from a time (offset_at) and retention (trim), per partition
            models.Index(
                fields=["stream", "partition", "appended_at"], name="%(app_label)s_stream_time"
            )
        ]

    def __str__(self) -> str:
        return f"{self.stream}/{self.partition}@{self.offset}"


class StreamGroupOffsetBase(models.Model):
    """A consumer group's committed offset of one partition (no row: 0)."""

    id = models.BigAutoField(primary_key=True)
    stream = models.CharField(max_length=200)
    group = models.CharField(max_length=200)
    partition = models.PositiveIntegerField()
    offset = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ("stream", "group", "partition")
        constraints = [
            models.UniqueConstraint(
                fields=["stream", "group", "partition"], name="%(app_label)s_stream_group_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.group} of {self.stream}/{self.partition}: {self.offset}"
