"""Registry REST API: reader schemas (the shape each consumer reads of a subject), and the
registration of producer versions, which a registered reader must be able to read."""

import json

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from edn_core.cqrs import send
from edn_core.cqrs.viewsets import acting_as
from edn_core.readers import CONSUMER, fields_read
from schema_registry import commands, commands_readers, errors, params
from schema_registry.http import RegistryView
from schema_registry.models import ReaderOverride
from schema_registry.openapi import TAG, problems
from schema_registry.queries import readers_of
from schema_registry.serializers import SchemaIn, schema_document
from schema_registry.serializers_readers import (
    READER,
    READERS,
    REGISTERED_VERSION,
    RETIRED,
    VersionIn,
    consumer_name,
    version_request,
)

CONSUMER_PARAMETER = OpenApiParameter(
    "consumer",
    {"type": "string", "pattern": CONSUMER.pattern, "maxLength": 100},
    OpenApiParameter.PATH,
    description="the consuming app's label, e.g. inventory; any other name is 422 (42250)",
)


@extend_schema(tags=[TAG])
class VersionCommands(RegistryView):
    @extend_schema(
        request=VersionIn,
        parameters=[params.NormalizeQuery],
        responses={200: REGISTERED_VERSION, **problems(409, 413, 415, 422)},
    )
    def post(self, request, subject):
        """Register a schema version (409 when it breaks the subject's mode or a registered
        reader, 422 invalid); returns its global id. ``readerOverride`` registers it anyway
        for the readers it names, recording who and why (a planned break)."""
        params.read(params.NormalizeQuery, request)
        document, override = version_request(request.data)
        with acting_as(request):
            result = send(
                commands.RegisterSchema(subject=subject, document=document, override=override)
            )
        if not result.accepted:
            return errors.refused(result)
        body = {"id": result.value.id}
        if override:
            broken = ReaderOverride.objects.filter(
                subject__name=subject, version=result.value.version
            ).values_list("consumer", flat=True)
            body["overriddenReaders"] = sorted(broken)
        return Response(body)


@extend_schema(tags=[TAG])
class ReaderQueries(RegistryView):
    @extend_schema(operation_id="schemas_readers_list", responses={200: READERS, **problems(404)})
    def get(self, request, subject):
        """List the subject's registered readers, each with the fields it reads."""
        return Response(
            [
                {
                    "consumer": reader.consumer,
                    "id": reader.schema_id,
                    "schemaType": "JSON",
                    "schema": json.dumps(reader.schema.document),
                    "reads": [
                        {"field": field, "required": required}
                        for field, required in fields_read(reader.schema.document)
                    ],
                    "registeredBy": reader.registered_by,
                    "registeredAt": reader.registered_at,
                }
                for reader in readers_of(subject)
            ]
        )


@extend_schema(tags=[TAG])
class ReaderCommands(RegistryView):
    @extend_schema(
        operation_id="schemas_reader_put",
        parameters=[CONSUMER_PARAMETER],
        request=SchemaIn,
        responses={200: READER, 201: READER, **problems(409, 413, 415, 422)},
    )
    def put(self, request, subject, consumer):
        """Register or replace a consumer's reader schema (201 new, 200 replaced; 409 when the
        subject's latest version cannot satisfy it, 422 invalid)."""
        consumer = consumer_name(consumer)
        command = commands_readers.RegisterReader(
            subject=subject, consumer=consumer, document=schema_document(request.data)
        )
        with acting_as(request):
            result = send(command)
        if not result.accepted:
            return errors.refused(result)
        reader, created = result.value
        body = {"subject": subject, "consumer": consumer, "id": reader.schema_id}
        return Response(body, status=201 if created else 200)

    @extend_schema(
        operation_id="schemas_reader_delete",
        parameters=[CONSUMER_PARAMETER],
        responses={200: RETIRED, **problems(404, 422)},
    )
    def delete(self, request, subject, consumer):
        """Retire a consumer's reader: later producer versions are no longer held to it."""
        consumer = consumer_name(consumer)
        result = send(commands_readers.RetireReader(subject=subject, consumer=consumer))
        if not result.accepted:
            return errors.refused(result)
        return Response({"subject": subject, "consumer": consumer})
