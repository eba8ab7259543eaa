"""A JSON parser that refuses oversize bodies before reading them whole."""

from __future__ import annotations

import json

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser

from edn_core.cqrs.problems import RequestTooLarge

__all__ = ["BoundedJSONParser"]


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


class BoundedJSONParser(JSONParser):
    """Parse strict JSON (no NaN/Infinity) of at most ``EDN_MAX_BODY_BYTES`` bytes."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.EDN_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise RequestTooLarge(f"Request body exceeds the limit of {limit} bytes.")
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge(f"Request body exceeds the limit of {limit} bytes.")
        try:
            data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
            # A "\ud800" escape decodes to a lone surrogate no database can store.
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except (UnicodeError, ValueError) as error:
            raise exceptions.ParseError(f"Malformed JSON: {error}") from None
        except RecursionError:
            raise exceptions.ParseError("Malformed JSON: nested too deeply.") from None
        return data
