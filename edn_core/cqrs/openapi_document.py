"""Additions to the whole OpenAPI document: the problem+json errors every operation can
give, and links from a created resource to the operations on it."""

from __future__ import annotations

__all__ = ["PROBLEM_SCHEMA", "document_errors", "link_created_resources"]

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
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for code, response in responses.items():
        if code[0] in "45" and not response.get("content"):
            response["content"] = {PROBLEM_MEDIA_TYPE: problem}
            if response.get("description") in ("", "problem+json"):
                response["description"] = ERRORS.get(int(code), "See detail.")


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
