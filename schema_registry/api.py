"""Registry REST API in the style of Confluent Schema Registry (JSON schemas only): subjects,
versions and schemas by id. Compatibility checks and modes are in ``api_compatibility``.

Status codes and ``error_code``s follow Confluent (see ``schema_registry.errors``), so that
Confluent's own clients work against it.
"""

import json

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from edn_core.cqrs import send
from edn_core.scopes import SCHEMAS_ADMIN
from schema_registry import commands, errors, params, queries
from schema_registry.http import REGISTRY_READ, RegistryView
from schema_registry.openapi import TAG, VERSION_PARAMETER, problems
from schema_registry.serializers import (
    SCHEMA,
    VERSION,
    SchemaIn,
    schema_document,
    version_body,
    version_number,
)


@extend_schema(tags=[TAG])
class SubjectQueries(RegistryView):
    @extend_schema(
        operation_id="schemas_subjects_list",
        parameters=[params.SubjectsQuery],
        responses={200: {"type": "array", "items": {"type": "string"}}, **problems()},
    )
    def get(self, request):
        """List subjects that have a live version (or soft-deleted ones, when asked)."""
        query = params.read(params.SubjectsQuery, request)
        found = queries.subjects(query["subjectPrefix"], query["deleted"], query["deletedOnly"])
        return Response(params.page(found, query))


@extend_schema(tags=[TAG])
class SubjectLookup(RegistryView):
    required_scopes = REGISTRY_READ  # a lookup, though sent with POST

    @extend_schema(
        operation_id="schemas_subject_lookup",
        request=SchemaIn,
        parameters=[params.LookupQuery],
        responses={200: VERSION, **problems(404, 413, 415, 422)},
    )
    def post(self, request, subject):
        """Find the version of this subject that holds the schema (40403 when none does)."""
        deleted = params.read(params.LookupQuery, request)["deleted"]
        return Response(
            version_body(queries.lookup(subject, schema_document(request.data), deleted))
        )


@extend_schema(tags=[TAG])
class SubjectCommands(RegistryView):
    required_scopes = SCHEMAS_ADMIN

    @extend_schema(
        operation_id="schemas_subject_delete",
        parameters=[params.PermanentQuery],
        responses={200: {"type": "array", "items": {"type": "integer"}}, **problems(404)},
    )
    def delete(self, request, subject):
        """Soft-delete a subject and its versions; ``permanent=true`` then removes them."""
        permanent = params.read(params.PermanentQuery, request)["permanent"]
        result = send(commands.DeleteSubject(subject=subject, permanent=permanent))
        return Response(result.value) if result.accepted else errors.refused(result)


@extend_schema(tags=[TAG])
class VersionQueries(RegistryView):
    @extend_schema(
        operation_id="schemas_versions_list",
        parameters=[params.ListedQuery],
        responses={200: {"type": "array", "items": {"type": "integer"}}, **problems(404)},
    )
    def get(self, request, subject):
        """List the version numbers of a subject (live ones unless asked otherwise)."""
        query = params.read(params.ListedQuery, request)
        found = queries.versions(subject, query["deleted"], query["deletedOnly"])
        return Response(params.page(found, query))


@extend_schema(tags=[TAG])
class VersionDetailQueries(RegistryView):
    @extend_schema(
        operation_id="schemas_version_get",
        parameters=[VERSION_PARAMETER, params.DeletedQuery],
        responses={200: VERSION, **problems(404, 422)},
    )
    def get(self, request, subject, version):
        """Get a version (a number, ``latest`` or -1) with its id and schema."""
        deleted = params.read(params.DeletedQuery, request)["deleted"]
        found = queries.get_version(subject, version_number(version), deleted)
        return Response(version_body(found))


@extend_schema(tags=[TAG])
class VersionDetailCommands(RegistryView):
    required_scopes = SCHEMAS_ADMIN

    @extend_schema(
        operation_id="schemas_version_delete",
        parameters=[VERSION_PARAMETER, params.PermanentQuery],
        responses={200: {"type": "integer"}, **problems(404, 422)},
    )
    def delete(self, request, subject, version):
        """Soft-delete a version (it stays readable by id); ``permanent=true`` then removes it."""
        permanent = params.read(params.PermanentQuery, request)["permanent"]
        number = version_number(version)
        result = send(commands.DeleteVersion(subject=subject, version=number, permanent=permanent))
        return Response(result.value) if result.accepted else errors.refused(result)


@extend_schema(tags=[TAG])
class SchemaById(RegistryView):
    @extend_schema(operation_id="schemas_by_id", responses={200: SCHEMA, **problems(404)})
    def get(self, request, schema_id):
        """Get a schema by its global id (also when its versions are soft-deleted)."""
        document = queries.get_schema(schema_id).document
        return Response({"schema": json.dumps(document), "schemaType": "JSON"})


@extend_schema(tags=[TAG])
class SchemaByIdOnConfluentPath(SchemaById):
    @extend_schema(operation_id="schemas_by_id_confluent", responses={200: SCHEMA, **problems(404)})
    def get(self, request, schema_id):
        """Get a schema by its global id, at the path Confluent's clients call
        (``/schemas/ids/{id}`` under the registry's base URL)."""
        return super().get(request, schema_id)
