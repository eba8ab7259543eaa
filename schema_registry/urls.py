from django.urls import register_converter

from edn_core.cqrs.routes import route
from schema_registry import api, api_compatibility, api_readers


class SubjectName:
    """A subject name as the ``Subject`` table can hold it: 1-200 characters, no ``/`` and
    no control characters (PostgreSQL refuses NUL); any other name is simply not found."""

    regex = r"[^/\x00-\x1f\x7f]{1,200}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(SubjectName, "registry_subject")

SUBJECT = "schemas/subjects/<registry_subject:subject>"
COMPATIBILITY = "schemas/compatibility/subjects/<registry_subject:subject>/versions"

urlpatterns = [
    route("schemas/subjects", "schema-subjects", GET=api.SubjectQueries.as_view()),
    route(
        SUBJECT,
        "schema-subject",
        POST=api.SubjectLookup.as_view(),
        DELETE=api.SubjectCommands.as_view(),
    ),
    route(
        f"{SUBJECT}/versions",
        "schema-versions",
        GET=api.VersionQueries.as_view(),
        POST=api_readers.VersionCommands.as_view(),
    ),
    route(f"{SUBJECT}/consumers", "schema-readers", GET=api_readers.ReaderQueries.as_view()),
    route(
        f"{SUBJECT}/consumers/<str:consumer>",
        "schema-reader",
        PUT=api_readers.ReaderCommands.as_view(),
        DELETE=api_readers.ReaderCommands.as_view(),
    ),
    route(
        f"{SUBJECT}/versions/<str:version>",
        "schema-version",
        GET=api.VersionDetailQueries.as_view(),
        DELETE=api.VersionDetailCommands.as_view(),
    ),
    route("schemas/ids/<int:schema_id>", "schema-by-id", GET=api.SchemaById.as_view()),
    route(
        "schemas/schemas/ids/<int:schema_id>",
        "schema-by-id-confluent",
        GET=api.SchemaByIdOnConfluentPath.as_view(),
    ),
    route(
        COMPATIBILITY,
        "schema-compatibility-all",
        POST=api_compatibility.CompatibilityQuery.as_view(),
    ),
    route(
        f"{COMPATIBILITY}/<str:version>",
        "schema-compatibility",
        POST=api_compatibility.CompatibilityWithVersion.as_view(),
    ),
    route(
        "schemas/config",
        "schema-config",
        GET=api_compatibility.GlobalConfigQuery.as_view(),
        PUT=api_compatibility.GlobalConfigCommand.as_view(),
    ),
    route(
        "schemas/config/<registry_subject:subject>",
        "schema-subject-config",
        GET=api_compatibility.ConfigQuery.as_view(),
        PUT=api_compatibility.ConfigCommand.as_view(),
    ),
]
