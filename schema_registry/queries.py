"""Read side of the registry: subjects, versions, schemas, compatibility settings and checks."""

from edn_core.domain import NotFound
from edn_core.readers import ReaderConflict, conflicts
from edn_core.schemas import RegisteredSchema
from schema_registry import domain, errors
from schema_registry.models import Reader, RegistryConfig, Schema, SchemaVersion, Subject

# Ids and versions beyond these cannot exist; looking them up would overflow the column.
MAX_SCHEMA_ID = 2**63 - 1


def global_compatibility() -> str:
    config = RegistryConfig.objects.filter(pk=1).first()
    return config.compatibility if config else "BACKWARD"


def live_versions(subject: Subject) -> list[SchemaVersion]:
    return list(subject.versions.filter(deleted=False).select_related("schema").order_by("version"))


def subjects(prefix: str = "", deleted: bool = False, deleted_only: bool = False) -> list[str]:
    """List subject names: with a live version, or also (only) the soft-deleted ones."""
    rows = Subject.objects.filter(name__startswith=prefix, versions__isnull=False)
    live = rows.filter(deleted=False, versions__deleted=False).values_list("name", flat=True)
    if deleted_only:
        rows = rows.exclude(name__in=live)
    elif not deleted:
        rows = rows.filter(name__in=live)
    return list(rows.distinct().order_by("name").values_list("name", flat=True))


def get_subject(name: str, deleted: bool = False) -> Subject:
    rows = Subject.objects.filter(name=name)
    subject = (rows if deleted else rows.filter(deleted=False)).first()
    if subject is None:
        raise NotFound(f"Subject {name} does not exist.", code=errors.SUBJECT_NOT_FOUND)
    return subject


def versions(name: str, deleted: bool = False, deleted_only: bool = False) -> list[int]:
    """List the version numbers of a subject: live ones, or also (only) soft-deleted ones."""
    rows = get_subject(name, deleted or deleted_only).versions.order_by("version")
    if deleted_only:
        rows = rows.filter(deleted=True)
    elif not deleted:
        rows = rows.filter(deleted=False)
    return list(rows.values_list("version", flat=True))


def get_version(name: str, version: int | None, deleted: bool = False) -> RegisteredSchema:
    """Return ``version`` of subject ``name`` (None: latest); ``deleted``: soft-deleted too."""
    rows = SchemaVersion.objects.filter(subject=get_subject(name, deleted))
    rows = rows if deleted else rows.filter(deleted=False)
    row = rows.order_by("-version") if version is None else rows.filter(version=version)
    found = row.select_related("schema").first()
    if found is None:
        raise NotFound(
            f"Subject {name} has no version {version or 'latest'}.", code=errors.VERSION_NOT_FOUND
        )
    return RegisteredSchema(name, found.version, found.schema_id, found.schema.document)


def lookup(name: str, document: dict, deleted: bool = False) -> RegisteredSchema:
    """Return the version of subject ``name`` that holds ``document`` (its canonical form)."""
    rows = get_subject(name, deleted).versions.filter(
        schema__fingerprint=domain.fingerprint(document)
    )
    found = (rows if deleted else rows.filter(deleted=False)).order_by("version").first()
    if found is None:
        raise NotFound(f"Subject {name} has no such schema.", code=errors.SCHEMA_NOT_FOUND)
    return RegisteredSchema(name, found.version, found.schema_id, document)


def get_schema(schema_id: int) -> Schema:
    schema = Schema.objects.filter(pk=schema_id).first() if schema_id <= MAX_SCHEMA_ID else None
    if schema is None:
        raise NotFound(f"No schema with id {schema_id}.", code=errors.SCHEMA_NOT_FOUND)
    return schema


def compatibility_of(name: str | None) -> str:
    if name is None:
        return global_compatibility()
    subject = Subject.objects.filter(name=name).first()
    if subject is None:
        raise NotFound(f"Subject {name} does not exist.", code=errors.SUBJECT_NOT_FOUND)
    return subject.compatibility or global_compatibility()


def check_compatibility(name: str, document: dict, version: int | None = None) -> list[str]:
    """Return why ``document`` breaks the subject's mode ([] = it does not): against the
    versions registering it would check, or against ``version`` alone."""
    if version is not None:
        found = get_version(name, version)
        subject = get_subject(name)
        history, numbers = [found.document], [found.version]
    elif (subject := Subject.objects.filter(name=name, deleted=False).first()) is None:
        return []  # like Confluent: a subject without history accepts any valid schema
    else:
        versions = live_versions(subject)
        history, numbers = [v.schema.document for v in versions], [v.version for v in versions]
    mode = subject.compatibility or global_compatibility()
    reasons = domain.incompatibilities(name, mode, document, history, numbers)
    return [r.message for r in reasons] + [c.message for c in reader_conflicts(subject, document)]


def reader_conflicts(subject: Subject, document: dict) -> list[ReaderConflict]:
    """Every registered reader of ``subject`` that ``document`` (a producer version) breaks,
    whatever the subject's compatibility mode."""
    found: list[ReaderConflict] = []
    for reader in subject.readers.select_related("schema").order_by("consumer"):
        found += conflicts(reader.consumer, reader.schema.document, document)
    return found


def readers_of(name: str) -> list[Reader]:
    """The registered readers of a subject (404 when the subject does not exist)."""
    subject = get_subject(name, deleted=True)
    return list(subject.readers.select_related("schema").order_by("consumer"))
