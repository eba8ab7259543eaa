"""Abstract tables of the stream processors' runtime (``edn_core.streams.runtime``). The
service app that runs processors declares the concrete ones in its models.py (re-exported by
``edn_core.streams.models``), so the state lives in its alias and commits with its outputs.

Every row names its ``processor``: one set of tables serves all the app's processors. Window
times are epoch milliseconds, values JSON (see ``edn_core.streams.pipeline_state``).
"""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

__all__ = [
    "ProcessorDeadLetterBase",
    "ProcessorLateRecordBase",
    "ProcessorPositionBase",
    "ProcessorWindowBase",
    "WindowResultBase",
]

_WINDOW = ("processor", "partition", "key", "start", "end")


class ProcessorPositionBase(models.Model):
    """Where a processor stands in one source partition: the truth of what it applied (the
    log's committed offsets only follow it). ``version`` moves on every write: a runtime
    writes only over the version it loaded, so a member that lost its partition unnoticed
    cannot overwrite its successor's work."""

    id = models.BigAutoField(primary_key=True)
    processor = models.CharField(max_length=200)
    partition = models.PositiveIntegerField()
    offset = models.BigIntegerField(default=0, help_text="the last entry applied")
    stream_time = models.BigIntegerField(null=True, blank=True, help_text="epoch ms")
    late = models.BigIntegerField(default=0, help_text="late records so far")
    version = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ("processor", "partition")
        constraints = [
            models.UniqueConstraint(
                fields=["processor", "partition"], name="%(app_label)s_processor_position_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.processor}/{self.partition}@{self.offset}"


class ProcessorWindowBase(models.Model):
    """An open window's stored accumulator (closed windows are deleted)."""

    id = models.BigAutoField(primary_key=True)
    processor = models.CharField(max_length=200)
    partition = models.PositiveIntegerField()
    key = models.TextField()
    start = models.BigIntegerField()
    end = models.BigIntegerField()
    value = models.JSONField()

    class Meta:
        abstract = True
        ordering = ("processor", "partition", "key", "start", "end")
        constraints = [
            models.UniqueConstraint(fields=_WINDOW, name="%(app_label)s_processor_window_once")
        ]

    def __str__(self) -> str:
        return f"{self.processor}/{self.partition} {self.key} [{self.start}, {self.end}]"


class WindowResultBase(models.Model):
    """The default output table: each window's result, ``final`` once it closed (a processor
    may write its own read model instead, see ``Processor.write``)."""

    id = models.BigAutoField(primary_key=True)
    processor = models.CharField(max_length=200)
    partition = models.PositiveIntegerField()
    key = models.TextField()
    start = models.BigIntegerField()
    end = models.BigIntegerField()
    final = models.BooleanField(default=False)
    value = models.JSONField(encoder=DjangoJSONEncoder)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ("processor", "start", "key", "partition")
        constraints = [
            models.UniqueConstraint(fields=_WINDOW, name="%(app_label)s_window_result_once")
        ]
        indexes = [
            models.Index(fields=["processor", "start"], name="%(app_label)s_window_result_time")
        ]

    def __str__(self) -> str:
        return f"{self.processor} {self.key} [{self.start}, {self.end}]"


class ProcessorLateRecordBase(models.Model):
    """The side output: a record that came after a window it belongs to had closed."""

    id = models.BigAutoField(primary_key=True)
    processor = models.CharField(max_length=200)
    partition = models.PositiveIntegerField()
    offset = models.BigIntegerField()
    key = models.TextField()
    time = models.BigIntegerField(help_text="event time, epoch ms")
    value = models.JSONField(encoder=DjangoJSONEncoder, help_text="the record (after the steps)")
    windows = models.JSONField(help_text="the closed windows it missed: [[start, end], ...]")
    stream_time = models.BigIntegerField(help_text="the partition's stream time then")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ("processor", "partition", "offset")
        indexes = [
            models.Index(
                fields=["processor", "partition", "offset"], name="%(app_label)s_late_record_at"
            )
        ]

    def __str__(self) -> str:
        return f"{self.processor}/{self.partition}@{self.offset} late"


class ProcessorDeadLetterBase(models.Model):
    """An entry a processor could not process: retried with backoff while ``retrying`` (its
    partition waits), then ``dead`` (skipped); ``replay`` asks the partition's owner to run
    it again; ``resolved`` once it went through. The entry is kept whole, so a replay works
    after retention removed it from the stream."""

    RETRYING, DEAD, REPLAY, RESOLVED = "retrying", "dead", "replay", "resolved"
    STATUSES = [
        (RETRYING, "retrying"),
        (DEAD, "dead letter"),
        (REPLAY, "replay requested"),
        (RESOLVED, "resolved"),
    ]

    id = models.BigAutoField(primary_key=True)
    processor = models.CharField(max_length=200)
    stream = models.CharField(max_length=200)
    partition = models.PositiveIntegerField()
    offset = models.BigIntegerField()
    key = models.CharField(max_length=200)
    value = models.JSONField()
    headers = models.JSONField(default=dict)
    appended_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=STATUSES, default=RETRYING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ("-updated_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["processor", "partition", "offset"], name="%(app_label)s_dead_letter_once"
            )
        ]
        indexes = [
            models.Index(fields=["processor", "status"], name="%(app_label)s_dead_letter_status")
        ]

    def __str__(self) -> str:
        return f"{self.stream}[{self.partition}]@{self.offset} -> {self.processor} ({self.status})"
