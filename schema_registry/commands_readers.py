"""Write side of reader schemas: register, replace and retire a consumer's reader of a
subject, and the reader check every new producer version passes (edn_core.readers)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import router, transaction

from edn_core import tracing
from edn_core.cqrs import Command, handles
from edn_core.domain import NotFound
from edn_core.readers import ReaderConflict, conflicts
from schema_registry import domain, errors
from schema_registry.limits import schema_limits
from schema_registry.models import Reader, ReaderOverride, Schema, Subject
from schema_registry.queries import reader_conflicts


@dataclass(frozen=True, kw_only=True)
class BreakReaders:
    """A planned break: register a producer version although it breaks these consumers."""

    consumers: tuple[str, ...]
    reason: str


@dataclass(frozen=True, kw_only=True)
class RegisterReader(Command):
    subject: str
    consumer: str
    document: object


@dataclass(frozen=True, kw_only=True)
class RetireReader(Command):
    subject: str
    consumer: str


def who() -> str:
    """The authenticated subject of the request or message being handled."""
    return tracing.current().subject or "unknown"


def check_readers(
    subject: Subject, document: dict, override: BreakReaders | None
) -> list[ReaderConflict]:
    """Refuse ``document`` if it breaks a reader the override does not name; return the
    conflicts the override accepts (recorded once the version exists)."""
    found = reader_conflicts(subject, document)
    planned = set(override.consumers) if override else set()
    blocking = [c for c in found if c.consumer not in planned]
    if blocking:
        raise domain.ReadersBroken(subject.name, blocking, "This producer version")
    return found


def record_overrides(
    subject: Subject, version: int, accepted: list[ReaderConflict], override: BreakReaders | None
) -> None:
    """Keep who broke which reader with which version, and why (``accepted`` is empty unless
    an override named its readers)."""
    if not accepted or override is None:
        return
    by_consumer: dict[str, list[dict]] = {}
    for conflict in accepted:
        by_consumer.setdefault(conflict.consumer, []).append(conflict.as_dict())
    ReaderOverride.objects.bulk_create(
        ReaderOverride(
            subject=subject,
            version=version,
            consumer=consumer,
            conflicts=found,
            by=who(),
            reason=override.reason,
        )
        for consumer, found in sorted(by_consumer.items())
    )


@handles(RegisterReader)
def register_reader(cmd: RegisterReader) -> tuple[Reader, bool]:
    """Register (or replace) ``consumer``'s reader of ``subject``; refused (409) when the
    subject's latest live version cannot satisfy it. Returns the row and whether it is new."""
    document = domain.parse(cmd.document, schema_limits())
    with transaction.atomic(using=router.db_for_write(Subject)):
        subject, _ = Subject.objects.select_for_update().get_or_create(name=cmd.subject)
        live = subject.versions.filter(deleted=False).select_related("schema")
        latest = None if subject.deleted else live.order_by("-version").first()
        if latest is not None:
            found = conflicts(cmd.consumer, document, latest.schema.document)
            if found:
                raise domain.ReadersBroken(
                    subject.name, found, f"The latest version ({latest.version})"
                )
        schema, _ = Schema.objects.get_or_create(
            fingerprint=domain.fingerprint(document), defaults={"document": document}
        )
        reader, created = Reader.objects.update_or_create(
            subject=subject,
            consumer=cmd.consumer,
            defaults={"schema": schema, "registered_by": who()},
        )
    return reader, created


@handles(RetireReader)
def retire_reader(cmd: RetireReader) -> str:
    """Retire ``consumer``'s reader of ``subject``: producer versions are no longer held to it."""
    with transaction.atomic(using=router.db_for_write(Subject)):
        deleted, _ = Reader.objects.filter(
            subject__name=cmd.subject, consumer=cmd.consumer
        ).delete()
        if not deleted:
            raise NotFound(
                f"Subject {cmd.subject} has no reader {cmd.consumer}.",
                code=errors.READER_NOT_FOUND,
            )
    return cmd.consumer
