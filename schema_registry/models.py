"""Subjects (one per topic), immutable schema documents with global ids, and versions."""

from django.db import models
from django.utils import timezone

MODES = [
    (m, m)
    for m in (
        "NONE",
        "BACKWARD",
        "BACKWARD_TRANSITIVE",
        "FORWARD",
        "FORWARD_TRANSITIVE",
        "FULL",
        "FULL_TRANSITIVE",
    )
]


class Subject(models.Model):
    name = models.CharField(max_length=200, unique=True)
    compatibility = models.CharField(
        max_length=20, choices=MODES, blank=True, help_text="blank: the global default"
    )
    deleted = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Schema(models.Model):
    """A schema document; its id is global and shared by every subject registering it."""

    id = models.BigAutoField(primary_key=True)
    fingerprint = models.CharField(max_length=64, unique=True)
    document = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"schema {self.id}"


class SchemaVersion(models.Model):
    subject = models.ForeignKey(Subject, related_name="versions", on_delete=models.PROTECT)
    version = models.PositiveIntegerField()
    schema = models.ForeignKey(Schema, related_name="versions", on_delete=models.PROTECT)
    deleted = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("subject", "version")
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "version"], name="schema_registry_version_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject.name} v{self.version}"


class RegistryConfig(models.Model):
    """The global default compatibility (a single row)."""

    compatibility = models.CharField(max_length=20, choices=MODES, default="BACKWARD")

    def __str__(self) -> str:
        return f"default compatibility {self.compatibility}"


class Reader(models.Model):
    """A consumer's reader schema for a subject: the shape it reads. The registry refuses a
    producer version that a reader could not read, whatever the subject's mode."""

    subject = models.ForeignKey(Subject, related_name="readers", on_delete=models.CASCADE)
    consumer = models.CharField(max_length=100)
    schema = models.ForeignKey(Schema, related_name="readers", on_delete=models.PROTECT)
    registered_by = models.CharField(max_length=200, blank=True)
    registered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("subject", "consumer")
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "consumer"], name="schema_registry_one_reader"
            )
        ]

    def __str__(self) -> str:
        return f"{self.consumer} reads {self.subject.name}"


class ReaderOverride(models.Model):
    """A producer version registered although it breaks a reader: a planned break, with who
    asked for it, why, and what it breaks."""

    subject = models.ForeignKey(Subject, related_name="overrides", on_delete=models.CASCADE)
    version = models.PositiveIntegerField()
    consumer = models.CharField(max_length=100)
    conflicts = models.JSONField(default=list)
    by = models.CharField(max_length=200)
    reason = models.TextField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("subject", "version", "consumer")

    def __str__(self) -> str:
        return f"{self.subject.name} v{self.version} breaks {self.consumer} ({self.by})"
