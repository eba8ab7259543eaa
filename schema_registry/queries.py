"""Read side of the registry, and the local schema source the event bus validates against."""

from edn_core.domain import NotFound
from edn_core.schemas import RegisteredSchema
from schema_registry.models import RegistryConfig, Schema, SchemaVersion, Subject


def global_compatibility() -> str:
    config = RegistryConfig.objects.filter(pk=1).first()
    return config.compatibility if config else "BACKWARD"


def live_versions(subject: Subject) -> list[SchemaVersion]:
    return list(subject.versions.filter(deleted=False).select_related("schema").order_by("version"))


def subjects() -> list[str]:
    return list(
        Subject.objects.filter(deleted=False, versions__deleted=False)
        .distinct()
        .order_by("name")
        .values_list("name", flat=True)
    )


def get_subject(name: str) -> Subject:
    subject = Subject.objects.filter(name=name, deleted=False).first()
    if subject is None:
        raise NotFound(f"Subject {name} does not exist.", code=40401)
    return subject


def versions(name: str) -> list[int]:
    return [v.version for v in live_versions(get_subject(name))]


def get_version(name: str, version: int | None) -> RegisteredSchema:
    """Return ``version`` of subject ``name`` (None = latest live version)."""
    rows = SchemaVersion.objects.filter(subject=get_subject(name), deleted=False)
    row = rows.order_by("-version") if version is None else rows.filter(version=version)
    found = row.select_related("schema").first()
    if found is None:
        raise NotFound(f"Subject {name} has no version {version or 'latest'}.", code=40402)
    return RegisteredSchema(name, found.version, found.schema_id, found.schema.document)


def get_schema(schema_id: int) -> Schema:
    schema = Schema.objects.filter(pk=schema_id).first()
    if schema is None:
        raise NotFound(f"No schema with id {schema_id}.", code=40403)
    return schema


def compatibility_of(name: str | None) -> str:
    if name is None:
        return global_compatibility()
    subject = Subject.objects.filter(name=name).first()
    if subject is None:
        raise NotFound(f"Subject {name} does not exist.", code=40401)
    return subject.compatibility or global_compatibility()


def check_compatibility(name: str, document: dict) -> list[str]:
    """Return why ``document`` could not be registered under ``name`` now ([] = it could)."""
    from schema_registry import domain

    subject = get_subject(name)
    history = [v.schema.document for v in live_versions(subject)]
    mode = subject.compatibility or global_compatibility()
    return [r.message for r in domain.incompatibilities(name, mode, document, history)]


class LocalSchemaSource:
    """Schemas straight from this process's registry tables."""

    def get(self, subject: str, version: int | None) -> RegisteredSchema | None:
        try:
            return get_version(subject, version)
        except NotFound:
            return None

    def register(self, subject: str, document: dict) -> RegisteredSchema:
        from edn_core.cqrs import send
        from edn_core.schemas import SchemaRefused
        from schema_registry.commands import RegisterSchema

        result = send(RegisterSchema(subject=subject, document=document))
        if not result.accepted:
            raise SchemaRefused(result.message, result.details.get("reasons", []))
        return result.value

    def compatibility(self, subject: str, document: dict) -> list[str]:
        try:
            return check_compatibility(subject, document)
        except NotFound:
            return []
