"""The schema source the event bus validates against when this process hosts the registry."""

from edn_core.cqrs import send
from edn_core.domain import NotFound
from edn_core.schemas import RegisteredSchema, SchemaRefused
from schema_registry.commands import RegisterSchema
from schema_registry.commands_readers import RegisterReader
from schema_registry.queries import check_compatibility, get_version

__all__ = ["LocalSchemaSource"]


class LocalSchemaSource:
    """Schemas straight from this process's registry tables (reads), registered through the
    registry's own command (writes)."""

    def get(self, subject: str, version: int | None) -> RegisteredSchema | None:
        try:
            return get_version(subject, version)
        except NotFound:
            return None

    def register(self, subject: str, document: dict) -> RegisteredSchema:
        result = send(RegisterSchema(subject=subject, document=document))
        if not result.accepted:
            raise SchemaRefused(result.message, result.details.get("reasons", []))
        return result.value

    def register_reader(self, subject: str, consumer: str, document: dict) -> int:
        result = send(RegisterReader(subject=subject, consumer=consumer, document=document))
        if not result.accepted:
            raise SchemaRefused(result.message, result.details.get("reasons", []))
        return result.value[0].schema_id

    def compatibility(self, subject: str, document: dict) -> list[str]:
        try:
            return check_compatibility(subject, document)
        except NotFound:
            return []
