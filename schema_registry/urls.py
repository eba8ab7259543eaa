from edn_core.cqrs.routes import route
from schema_registry import api

SUBJECT = "schemas/subjects/<str:subject>"

urlpatterns = [
    route("schemas/subjects", "schema-subjects", GET=api.SubjectQueries.as_view()),
    route(SUBJECT, "schema-subject", DELETE=api.SubjectCommands.as_view()),
    route(
        f"{SUBJECT}/versions",
        "schema-versions",
        GET=api.VersionQueries.as_view(),
        POST=api.VersionCommands.as_view(),
    ),
    route(
        f"{SUBJECT}/versions/<str:version>",
        "schema-version",
        GET=api.VersionDetailQueries.as_view(),
        DELETE=api.VersionDetailCommands.as_view(),
    ),
    route("schemas/ids/<int:schema_id>", "schema-by-id", GET=api.SchemaById.as_view()),
    route(
        "schemas/compatibility/subjects/<str:subject>/versions/<str:version>",
        "schema-compatibility",
        POST=api.CompatibilityQuery.as_view(),
    ),
    route(
        "schemas/config",
        "schema-config",
        GET=api.GlobalConfigQuery.as_view(),
        PUT=api.GlobalConfigCommand.as_view(),
    ),
    route(
        "schemas/config/<str:subject>",
        "schema-subject-config",
        GET=api.ConfigQuery.as_view(),
        PUT=api.ConfigCommand.as_view(),
    ),
]
