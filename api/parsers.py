"""JSON bodies with bounds, so an oversized or absurdly nested body gets a 4xx, never a 500."""

import json
from typing import Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "body_too_large"


def _limit() -> int:
    return settings.API_MAX_BODY_BYTES


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser reads the stream itself (Django's DATA_UPLOAD_MAX_MEMORY_SIZE only guards
    request.body), so the size bound is enforced here, on what is actually read."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        limit = _limit()
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(f"The request body is larger than {limit // 1024} KB.")
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise BodyTooLarge(f"The request body is larger than {limit // 1024} KB.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as error:
            raise ParseError(f"The request body is not valid {encoding} text.") from error
        try:
            return json.loads(text, parse_constant=_no_constant)
        except RecursionError as error:
            raise ParseError("JSON parse error - the body is nested too deeply.") from error
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from error


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")
