"""Write side of the registry: register versions, set compatibility, soft-delete."""

from dataclasses import dataclass

from django.db import router, transaction

from edn_core.cqrs import Command, handles
from edn_core.domain import NotFound
from edn_core.schemas import RegisteredSchema, forget_cached
from schema_registry import domain, errors
from schema_registry.commands_readers import BreakReaders, check_readers, record_overrides
from schema_registry.limits import schema_limits
from schema_registry.models import RegistryConfig, Schema, SchemaVersion, Subject
from schema_registry.queries import global_compatibility, live_versions


def _atomic():
    return transaction.atomic(using=router.db_for_write(Subject))


@dataclass(frozen=True, kw_only=True)
class RegisterSchema(Command):
    subject: str
    document: object
    override: BreakReaders | None = None  # a planned break of these readers


@dataclass(frozen=True, kw_only=True)
class SetCompatibility(Command):
    subject: str | None  # None: the global default
    mode: str


@dataclass(frozen=True, kw_only=True)
class DeleteVersion(Command):
    subject: str
    version: int | None  # None: the latest version (live, or soft-deleted when permanent)
    permanent: bool = False


@dataclass(frozen=True, kw_only=True)
class DeleteSubject(Command):
    subject: str
    permanent: bool = False


@handles(RegisterSchema)
def register_schema(cmd: RegisterSchema) -> RegisteredSchema:
    """Register ``document`` under ``subject``; the same document again returns its version."""
    document = domain.parse(cmd.document, schema_limits())
    with _atomic():
        subject, _ = Subject.objects.select_for_update().get_or_create(name=cmd.subject)
        history = live_versions(subject)
        same = next(
            (v for v in history if v.schema.fingerprint == domain.fingerprint(document)), None
        )
        if same is not None:
            return RegisteredSchema(subject.name, same.version, same.schema_id, document)
        mode = subject.compatibility or global_compatibility()
        domain.ensure_compatible(
            subject.name,
            mode,
            document,
            [v.schema.document for v in history],
            [v.version for v in history],
        )
        accepted = check_readers(subject, document, cmd.override)
        schema, _ = Schema.objects.get_or_create(
            fingerprint=domain.fingerprint(document), defaults={"document": document}
        )
        last = subject.versions.order_by("-version").values_list("version", flat=True).first()
        row = SchemaVersion.objects.create(subject=subject, version=(last or 0) + 1, schema=schema)
        record_overrides(subject, row.version, accepted, cmd.override)
        if subject.deleted:
            subject.deleted = False
            subject.save(update_fields=["deleted"])
    forget_cached()  # drop cached "latest" of this process
    return RegisteredSchema(subject.name, row.version, schema.id, document)


@handles(SetCompatibility)
def set_compatibility(cmd: SetCompatibility) -> str:
    with _atomic():
        if cmd.subject is None:
            RegistryConfig.objects.update_or_create(pk=1, defaults={"compatibility": cmd.mode})
        else:
            Subject.objects.update_or_create(name=cmd.subject, defaults={"compatibility": cmd.mode})
    return cmd.mode


def _subject_row(name: str) -> Subject:
    subject = Subject.objects.select_for_update().filter(name=name).first()
    if subject is None:
        raise NotFound(f"Subject {name} does not exist.", code=errors.SUBJECT_NOT_FOUND)
    return subject


def _drop_orphan_schemas(schema_ids: set[int]) -> None:
    """Delete schema documents no version refers to any more: their ids answer 404 from now on."""
    Schema.objects.filter(pk__in=schema_ids, versions__isnull=True, readers__isnull=True).delete()


@handles(DeleteVersion)
def delete_version(cmd: DeleteVersion) -> int:
    """Soft-delete a version (still readable by id); ``permanent`` removes a soft-deleted one."""
    with _atomic():
        versions = _subject_row(cmd.subject).versions
        if cmd.version is not None:
            row = versions.filter(version=cmd.version).first()
        else:
            candidates = versions.all() if cmd.permanent else versions.filter(deleted=False)
            row = candidates.order_by("-version").first()
        if row is None:
            which = "latest" if cmd.version is None else cmd.version
            raise NotFound(
                f"Subject {cmd.subject} has no version {which}.", code=errors.VERSION_NOT_FOUND
            )
        if row.deleted != cmd.permanent:
            code = errors.VERSION_NOT_SOFT_DELETED if cmd.permanent else errors.VERSION_SOFT_DELETED
            state = (
                "is not soft-deleted; soft-delete it first" if cmd.permanent else "was soft-deleted"
            )
            raise NotFound(f"Subject {cmd.subject} version {row.version} {state}.", code=code)
        if cmd.permanent:
            row.delete()
            _drop_orphan_schemas({row.schema_id})
        else:
            SchemaVersion.objects.filter(pk=row.pk).update(deleted=True)
    forget_cached()
    return row.version


@handles(DeleteSubject)
def delete_subject(cmd: DeleteSubject) -> list[int]:
    """Soft-delete a subject's versions; ``permanent`` removes a soft-deleted subject entirely."""
    with _atomic():
        subject = _subject_row(cmd.subject)
        if subject.deleted != cmd.permanent:
            code = errors.SUBJECT_NOT_SOFT_DELETED if cmd.permanent else errors.SUBJECT_SOFT_DELETED
            state = (
                "is not soft-deleted; soft-delete it first" if cmd.permanent else "was soft-deleted"
            )
            raise NotFound(f"Subject {cmd.subject} {state}.", code=code)
        if cmd.permanent:
            rows = list(subject.versions.order_by("version"))
            read = set(subject.readers.values_list("schema_id", flat=True))
            subject.readers.all().delete()
            subject.versions.all().delete()
            subject.delete()
            _drop_orphan_schemas({row.schema_id for row in rows} | read)
            versions = [row.version for row in rows]
        else:
            versions = [v.version for v in live_versions(subject)]
            subject.versions.update(deleted=True)
            subject.deleted = True
            subject.save(update_fields=["deleted"])
    forget_cached()
    return versions
