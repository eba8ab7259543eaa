"""Write side of the registry: register versions, set compatibility, soft-delete."""

from dataclasses import dataclass

from django.db import router, transaction

from edn_core.cqrs import Command, handles
from edn_core.domain import NotFound
from edn_core.schemas import RegisteredSchema, install_local_source
from schema_registry import domain
from schema_registry.models import RegistryConfig, Schema, SchemaVersion, Subject
from schema_registry.queries import LocalSchemaSource, global_compatibility, live_versions


def _atomic():
    return transaction.atomic(using=router.db_for_write(Subject))


@dataclass(frozen=True, kw_only=True)
class RegisterSchema(Command):
    subject: str
    document: object


@dataclass(frozen=True, kw_only=True)
class SetCompatibility(Command):
    subject: str | None  # None: the global default
    mode: str


@dataclass(frozen=True, kw_only=True)
class DeleteVersion(Command):
    subject: str
    version: int


@dataclass(frozen=True, kw_only=True)
class DeleteSubject(Command):
    subject: str


@handles(RegisterSchema)
def register_schema(cmd: RegisterSchema) -> RegisteredSchema:
    """Register ``document`` under ``subject``; the same document again returns its version."""
    document = domain.ensure_valid(cmd.document)
    with _atomic():
        subject, _ = Subject.objects.select_for_update().get_or_create(name=cmd.subject)
        history = live_versions(subject)
        same = next(
            (v for v in history if v.schema.fingerprint == domain.fingerprint(document)), None
        )
        if same is not None:
            return RegisteredSchema(subject.name, same.version, same.schema_id, document)
        mode = subject.compatibility or global_compatibility()
        domain.ensure_compatible(subject.name, mode, document, [v.schema.document for v in history])
        schema, _ = Schema.objects.get_or_create(
            fingerprint=domain.fingerprint(document), defaults={"document": document}
        )
        last = subject.versions.order_by("-version").values_list("version", flat=True).first()
        row = SchemaVersion.objects.create(subject=subject, version=(last or 0) + 1, schema=schema)
        if subject.deleted:
            subject.deleted = False
            subject.save(update_fields=["deleted"])
    install_local_source(LocalSchemaSource())  # drop cached "latest" of this process
    return RegisteredSchema(subject.name, row.version, schema.id, document)


@handles(SetCompatibility)
def set_compatibility(cmd: SetCompatibility) -> str:
    with _atomic():
        if cmd.subject is None:
            RegistryConfig.objects.update_or_create(pk=1, defaults={"compatibility": cmd.mode})
        else:
            Subject.objects.update_or_create(name=cmd.subject, defaults={"compatibility": cmd.mode})
    return cmd.mode


@handles(DeleteVersion)
def delete_version(cmd: DeleteVersion) -> int:
    """Soft-delete one version: it stays readable by id, leaves listings and checks."""
    with _atomic():
        changed = SchemaVersion.objects.filter(
            subject__name=cmd.subject, version=cmd.version, deleted=False
        ).update(deleted=True)
    if not changed:
        raise NotFound(f"Subject {cmd.subject} has no version {cmd.version}.", code=40402)
    install_local_source(LocalSchemaSource())
    return cmd.version


@handles(DeleteSubject)
def delete_subject(cmd: DeleteSubject) -> list[int]:
    with _atomic():
        subject = Subject.objects.filter(name=cmd.subject, deleted=False).first()
        if subject is None:
            raise NotFound(f"Subject {cmd.subject} does not exist.", code=40401)
        versions = [v.version for v in live_versions(subject)]
        subject.versions.update(deleted=True)
        subject.deleted = True
        subject.save(update_fields=["deleted"])
    install_local_source(LocalSchemaSource())
    return versions
