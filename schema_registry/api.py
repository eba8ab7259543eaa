"""Registry REST API in the style of Confluent Schema Registry (JSON schemas only).

Status codes follow Confluent where they apply: 404 unknown subject/version/schema (with
``errorCode`` 40401/40402/40403), 409 incompatible, 422 invalid schema (42201).
"""

import json

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from edn_core.cqrs import send
from edn_core.cqrs.problems import problem
from edn_core.domain import NotFound
from schema_registry import commands, queries
from schema_registry.serializers import (
    VERSION,
    ConfigIn,
    SchemaIn,
    not_found,
    refused,
    version_body,
    version_number,
)


class RegistryView(APIView):
    def handle_exception(self, exc):
        if isinstance(exc, NotFound):
            return not_found(exc)
        return super().handle_exception(exc)


@extend_schema(tags=["schema registry"])
class SubjectQueries(RegistryView):
    @extend_schema(
        operation_id="schemas_subjects_list",
        responses={200: {"type": "array", "items": {"type": "string"}}},
    )
    def get(self, request):
        """List subjects that have a live version."""
        return Response(queries.subjects())


@extend_schema(tags=["schema registry"])
class VersionQueries(RegistryView):
    @extend_schema(
        operation_id="schemas_versions_list",
        responses={200: {"type": "array", "items": {"type": "integer"}}},
    )
    def get(self, request, subject):
        """List the live versions of a subject."""
        return Response(queries.versions(subject))


@extend_schema(tags=["schema registry"])
class VersionCommands(RegistryView):
    @extend_schema(
        request=SchemaIn,
        responses={200: inline_serializer("RegisteredId", {"id": serializers.IntegerField()})},
    )
    def post(self, request, subject):
        """Register a schema version (409 incompatible, 422 invalid); returns its global id."""
        body = SchemaIn(data=request.data)
        body.is_valid(raise_exception=True)
        result = send(
            commands.RegisterSchema(subject=subject, document=body.validated_data["schema"])
        )
        return Response({"id": result.value.id}) if result.accepted else refused(result)


@extend_schema(tags=["schema registry"])
class VersionDetailQueries(RegistryView):
    @extend_schema(operation_id="schemas_version_get", responses={200: VERSION})
    def get(self, request, subject, version):
        """Get a version (a number or ``latest``) with its id and schema."""
        return Response(version_body(queries.get_version(subject, version_number(version))))


@extend_schema(tags=["schema registry"])
class VersionDetailCommands(RegistryView):
    @extend_schema(operation_id="schemas_version_delete", responses={200: {"type": "integer"}})
    def delete(self, request, subject, version):
        """Soft-delete a version; it stays readable by id."""
        number = version_number(version) or queries.versions(subject)[-1]
        result = send(commands.DeleteVersion(subject=subject, version=number))
        return Response(result.value) if result.accepted else refused(result)


@extend_schema(tags=["schema registry"])
class SubjectCommands(RegistryView):
    @extend_schema(
        operation_id="schemas_subject_delete",
        responses={200: {"type": "array", "items": {"type": "integer"}}},
    )
    def delete(self, request, subject):
        """Soft-delete a subject and its versions."""
        result = send(commands.DeleteSubject(subject=subject))
        return Response(result.value) if result.accepted else refused(result)


@extend_schema(tags=["schema registry"])
class SchemaById(RegistryView):
    @extend_schema(
        operation_id="schemas_by_id",
        responses={
            200: inline_serializer(
                "SchemaById",
                {"schema": serializers.CharField(), "schemaType": serializers.CharField()},
            )
        },
    )
    def get(self, request, schema_id):
        """Get a schema by its global id."""
        return Response(
            {"schema": json.dumps(queries.get_schema(schema_id).document), "schemaType": "JSON"}
        )


@extend_schema(tags=["schema registry"])
class CompatibilityQuery(RegistryView):
    @extend_schema(
        request=SchemaIn,
        responses={
            200: inline_serializer(
                "Compatibility",
                {
                    "isCompatible": serializers.BooleanField(),
                    "messages": serializers.ListField(child=serializers.CharField()),
                },
            )
        },
    )
    def post(self, request, subject, version="latest"):
        """Test a schema against the subject's history under its mode; registers nothing."""
        body = SchemaIn(data=request.data)
        body.is_valid(raise_exception=True)
        from schema_registry import domain

        try:
            document = domain.ensure_valid(body.validated_data["schema"])
        except domain.InvalidSchema as error:
            return problem(422, error.message, "invalid-schema", errorCode=42201)
        messages = queries.check_compatibility(subject, document)
        return Response({"isCompatible": not messages, "messages": messages})


@extend_schema(tags=["schema registry"])
class ConfigQuery(RegistryView):
    @extend_schema(operation_id="schemas_config_subject_get", responses={200: ConfigIn})
    def get(self, request, subject=None):
        """Read the compatibility mode of a subject, or the global default."""
        return Response({"compatibility": queries.compatibility_of(subject)})


@extend_schema(tags=["schema registry"])
class ConfigCommand(RegistryView):
    @extend_schema(
        operation_id="schemas_config_subject_put", request=ConfigIn, responses={200: ConfigIn}
    )
    def put(self, request, subject=None):
        """Set the compatibility mode of a subject, or the global default."""
        body = ConfigIn(data=request.data)
        body.is_valid(raise_exception=True)
        mode = body.validated_data["compatibility"]
        result = send(commands.SetCompatibility(subject=subject, mode=mode))
        return Response({"compatibility": result.value})


@extend_schema(tags=["schema registry"])
class GlobalConfigQuery(RegistryView):
    @extend_schema(operation_id="schemas_config_global_get", responses={200: ConfigIn})
    def get(self, request):
        """Read the global default compatibility mode."""
        return Response({"compatibility": queries.compatibility_of(None)})


@extend_schema(tags=["schema registry"])
class GlobalConfigCommand(RegistryView):
    @extend_schema(
        operation_id="schemas_config_global_put", request=ConfigIn, responses={200: ConfigIn}
    )
    def put(self, request):
        """Set the global default compatibility mode."""
        return ConfigCommand.put(self, request, subject=None)
