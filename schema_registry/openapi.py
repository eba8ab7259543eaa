"""OpenAPI fragments the registry's operations share."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from edn_core.cqrs.problems import PROBLEM_CONTENT_TYPE
from schema_registry.serializers import MAX_VERSION, PROBLEM

TAG = "schema registry"
ALWAYS = (400, 401, 406, 503)
WHEN = {
    400: "malformed query or body (error_code 400, field errors in `errors`)",
    401: "no or bad bearer token",
    404: "unknown subject, version or schema (error_code 404xx)",
    406: "Accept names no media type this API answers in",
    409: "incompatible with the subject's history (error_code 40901, reasons in `messages`)",
    413: "body over the size limit",
    415: "body not in JSON or Confluent's media types",
    422: "invalid schema (42201), version (42202) or compatibility level (42203)",
    503: "the registry's store failed (error_code 50001); retry later",
}


VERSION_PARAMETER = OpenApiParameter(
    "version",
    {
        "anyOf": [
            {"type": "integer", "minimum": 1, "maximum": MAX_VERSION},
            {"type": "string", "enum": ["latest", "-1"]},
        ]
    },
    OpenApiParameter.PATH,
    description="a version number, or latest (also -1); anything else is 422 (42202)",
)


def problems(*statuses: int) -> dict:
    """Return the problem+json responses of an operation: ``statuses`` plus the ones any has."""
    return {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(PROBLEM, description=WHEN[status])
        for status in sorted({*statuses, *ALWAYS})
    }
