"""Registry REST API, Confluent style: compatibility checks and compatibility modes."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from edn_core.cqrs import send
from edn_core.scopes import SCHEMAS_ADMIN
from schema_registry import commands, errors, params, queries
from schema_registry.http import REGISTRY_READ, RegistryView
from schema_registry.openapi import TAG, VERSION_PARAMETER, problems
from schema_registry.serializers import (
    COMPATIBILITY,
    CONFIG,
    CONFIG_SET,
    ConfigIn,
    SchemaIn,
    config_body,
    schema_document,
    validated,
    version_number,
)


@extend_schema(tags=[TAG])
class CompatibilityQuery(RegistryView):
    required_scopes = REGISTRY_READ  # a check, though sent with POST

    @extend_schema(
        operation_id="schemas_compatibility_all",
        request=SchemaIn,
        parameters=[params.CompatibilityQuery],
        responses={200: COMPATIBILITY, **problems(404, 413, 415, 422)},
    )
    def post(self, request, subject, version=None):
        """Test a schema under the subject's mode; registers nothing. Without a version, or
        with ``latest``, against what registering it would check; with a number, against
        that version alone. A subject without versions accepts any valid schema."""
        params.read(params.CompatibilityQuery, request)
        number = None if version is None else version_number(version)
        messages = queries.check_compatibility(subject, schema_document(request.data), number)
        return Response(
            {"is_compatible": not messages, "isCompatible": not messages, "messages": messages}
        )


@extend_schema(tags=[TAG])
class CompatibilityWithVersion(CompatibilityQuery):
    @extend_schema(
        operation_id="schemas_compatibility_version",
        request=SchemaIn,
        parameters=[VERSION_PARAMETER, params.CompatibilityQuery],
        responses={200: COMPATIBILITY, **problems(404, 413, 415, 422)},
    )
    def post(self, request, subject, version):
        """Test a schema against one version (``latest``: as registering it would check)."""
        return super().post(request, subject, version)


@extend_schema(tags=[TAG])
class ConfigQuery(RegistryView):
    @extend_schema(
        operation_id="schemas_config_subject_get", responses={200: CONFIG, **problems(404)}
    )
    def get(self, request, subject):
        """Read the compatibility mode in force for a subject (its own or the global one)."""
        return Response(config_body(queries.compatibility_of(subject)))


@extend_schema(tags=[TAG])
class ConfigCommand(RegistryView):
    required_scopes = SCHEMAS_ADMIN

    @extend_schema(
        operation_id="schemas_config_subject_put",
        request=ConfigIn,
        responses={200: CONFIG_SET, **problems(413, 415, 422)},
    )
    def put(self, request, subject=None):
        """Set the compatibility mode of a subject (42203 for an unknown mode)."""
        body = validated(
            ConfigIn, request.data, {"compatibility": errors.INVALID_COMPATIBILITY_LEVEL}
        )
        result = send(commands.SetCompatibility(subject=subject, mode=body["compatibility"]))
        return Response({"compatibility": result.value})


@extend_schema(tags=[TAG])
class GlobalConfigQuery(RegistryView):
    @extend_schema(operation_id="schemas_config_global_get", responses={200: CONFIG, **problems()})
    def get(self, request):
        """Read the global default compatibility mode."""
        return Response(config_body(queries.compatibility_of(None)))


@extend_schema(tags=[TAG])
class GlobalConfigCommand(RegistryView):
    required_scopes = SCHEMAS_ADMIN

    @extend_schema(
        operation_id="schemas_config_global_put",
        request=ConfigIn,
        responses={200: CONFIG_SET, **problems(413, 415, 422)},
    )
    def put(self, request):
        """Set the global default compatibility mode (42203 for an unknown mode)."""
        return ConfigCommand.put(self, request, subject=None)
