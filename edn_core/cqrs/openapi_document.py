"""Additions to the whole OpenAPI document: the problem+json errors every operation can
give, and links from a created resource to the operations on it."""

from __future__ import annotations

from http import HTTPStatus

__all__ = ["PROBLEM_SCHEMA", "describe_successes", "document_errors", "link_created_resources"]

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details; members beyond these may follow.",
    "properties": {
        "type": {"type": "string", "example": "urn:edn:problem:invalid-input"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "description": "Messages per field path, e.g. items[0].quantity.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["type", "title", "status", "detail"],
}
PROBLEM_MEDIA_TYPE = "application/problem+json"
ERRORS = {
    400: "The request is malformed or has invalid fields (see errors).",
    401: "No valid bearer token.",
    403: "The token lacks the scope this operation needs (insufficient-scope).",
    404: "No such resource, or a page past the last one.",
    412: "If-Match names a version that is not the current one.",
    413: "The body exceeds the size limit.",
    415: "The body is not JSON.",
    428: "If-Match is missing.",
    429: "Too many requests for this token (only with EDN_API_THROTTLE_RATE); see Retry-After.",
    503: "A database or the schema registry cannot be reached; retry later.",
}


# What each shared error's problem+json looks like (the example shown by Swagger UI)
EXAMPLES = {
    400: ("invalid-input", "The request has invalid fields."),
    401: ("not-authenticated", "The bearer token is missing."),
    403: ("insufficient-scope", "This operation needs a scope which the token does not have."),
    404: ("not-found", "Nothing is served at this path, or no resource has this id."),
    409: ("invalid-state", "The resource's current state does not allow this."),
    412: ("precondition-failed", "The resource changed since the ETag given in If-Match."),
    413: ("request-too-large", "Request body exceeds the limit of 262144 bytes."),
    415: ("unsupported-media-type", 'Unsupported media type "text/plain" in request.'),
    428: ("precondition-required", "This request must carry an If-Match header with the ETag."),
    429: ("throttled", "Request was throttled. Expected available in 7 seconds."),
    503: ("database-unavailable", "The service's database is unavailable; try again later."),
}
SUCCESSES = {
    "201": "Created: the new resource; Location names it, ETag is its version.",
    "202": "Accepted: the resource as recorded so far (work goes on); Location names it.",
    "204": "Done; no body.",
}


def _error_codes(operation: dict) -> set[int]:
    """The errors the shared layers give for an operation of this shape."""
    params = operation.get("parameters", [])
    where = {(p["in"], p["name"]) for p in params}
    codes = {503}
    if operation.get("requestBody"):
        codes |= {400, 413, 415}
    if any(kind == "query" for kind, _ in where):
        codes.add(400)
    if any(kind == "path" for kind, _ in where) or ("query", "page") in where:
        codes.add(404)
    if ("header", "If-Match") in where:
        codes |= {412, 428}
    if any(requirement for requirement in operation.get("security", [])):
        codes |= {401, 403, 429}
    return codes


def document_errors(operation: dict) -> None:
    """Add the shared error responses and give every error response the problem schema."""
    responses = operation.setdefault("responses", {})
    for code in sorted(_error_codes(operation)):
        responses.setdefault(str(code), {"description": ERRORS[code]})
    for code, response in responses.items():
        if code[0] in "45" and not response.get("content"):
            response["content"] = {PROBLEM_MEDIA_TYPE: _problem(int(code), operation)}
            if response.get("description") in ("", "problem+json"):
                response["description"] = ERRORS.get(int(code), "See detail.")


def _problem(status: int, operation: dict) -> dict:
    media = {"schema": {"$ref": "#/components/schemas/Problem"}}
    if status in EXAMPLES:
        slug, detail = EXAMPLES[status]
        if status == 403 and operation.get("x-required-scopes"):
            scope = operation["x-required-scopes"][0]
            detail = f"This operation needs the scope {scope}, which the token does not have."
        title = HTTPStatus(status).phrase
        media["example"] = {"type": f"urn:edn:problem:{slug}", "title": title, "status": status}
        media["example"]["detail"] = detail
    return media


def describe_successes(operation: dict, method: str) -> None:
    """Give each success response without a description one (Swagger UI shows it)."""
    for code, response in operation.get("responses", {}).items():
        if response.get("description") or code[0] not in "23":
            continue
        tagged = "ETag" in response.get("headers", {})
        if code != "200":
            response["description"] = SUCCESSES.get(code, "OK.")
        elif method == "get":
            response["description"] = "The resource, with its ETag." if tagged else "OK."
        else:
            response["description"] = "The resource after the change, with its new ETag."


def link_created_resources(paths: dict) -> None:
    """Link each creation (201/202 with an ``id``) to the operations on the created item,
    passing its id and ETag: the flows a stateful fuzzer follows."""
    for path, item in paths.items():
        created = item.get("post", {}).get("responses", {})
        status = next((code for code in ("201", "202") if code in created), None)
        if status is None:
            continue
        links = {}
        for target, methods in paths.items():
            if not target.startswith(f"{path}/{{id}}"):
                continue
            for method, operation in methods.items():
                names = {p["name"] for p in operation.get("parameters", [])}
                parameters = {"id": "$response.body#/id"}
                if "If-Match" in names:
                    parameters["header.If-Match"] = "$response.header.ETag"
                links[operation["operationId"]] = {
                    "operationId": operation["operationId"],
                    "parameters": parameters,
                    "description": f"{method.upper()} {target} of the created resource.",
                }
        if links:
            created[status]["links"] = links
