"""The HTTP side every registry view shares: Confluent's media types and error members."""

import logging

from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from edn_core.cqrs.negotiation import PreferenceOrderNegotiation
from edn_core.cqrs.parsers import BoundedJSONParser
from edn_core.cqrs.problems import DATABASE_OUTAGES, DatabaseUnavailable, problem
from edn_core.domain import NotFound
from schema_registry import errors
from schema_registry.domain import InvalidSchema

logger = logging.getLogger(__name__)

CONFLUENT_V1 = "application/vnd.schemaregistry.v1+json"
CONFLUENT = "application/vnd.schemaregistry+json"


class ConfluentV1Parser(BoundedJSONParser):
    media_type = CONFLUENT_V1


class ConfluentParser(BoundedJSONParser):
    media_type = CONFLUENT


class ConfluentV1Renderer(JSONRenderer):
    media_type = CONFLUENT_V1


class ConfluentRenderer(JSONRenderer):
    media_type = CONFLUENT


# Lookups and compatibility checks are reads sent with POST: they declare this scope.
REGISTRY_READ = "schema_registry:read"


class RegistryView(APIView):
    """Take and answer JSON or Confluent's media types; errors carry Confluent's codes."""

    parser_classes = [BoundedJSONParser, ConfluentV1Parser, ConfluentParser]
    # Plain JSON first: it is what */* and a missing Accept get.
    renderer_classes = [JSONRenderer, ConfluentV1Renderer, ConfluentRenderer]
    content_negotiation_class = PreferenceOrderNegotiation

    def handle_exception(self, exc):
        if isinstance(exc, errors.RegistryError):
            return errors.registry_problem(exc.code, str(exc.detail))
        if isinstance(exc, NotFound):
            code = exc.details.get("code") or errors.SUBJECT_NOT_FOUND
            return errors.registry_problem(code, exc.message)
        if isinstance(exc, InvalidSchema):
            return errors.registry_problem(errors.INVALID_SCHEMA, exc.message)
        if isinstance(exc, RecursionError):  # a body nested deeper than the parser can follow
            return problem(400, "Malformed JSON: nested too deeply.", "parse-error")
        if isinstance(exc, DATABASE_OUTAGES):
            logger.warning("registry store unavailable in %s: %r", type(self).__name__, exc)
            response = errors.registry_problem(
                errors.STORE_ERROR, DatabaseUnavailable.default_detail
            )
            response["Retry-After"] = str(DatabaseUnavailable.retry_after)
            return response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        return errors.with_confluent_members(response)
