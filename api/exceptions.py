"""Every refusal as JSON with a clear status: the services' ServiceError mapped by kind, DRF's own
errors, throttling with the rate in words."""

import logging

from django.core.exceptions import RequestDataTooBig
from rest_framework import status
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.errors import ServiceError

logger = logging.getLogger(__name__)

SERVICE_ERROR_STATUS = {
    ServiceError.INVALID: status.HTTP_400_BAD_REQUEST,
    ServiceError.FORBIDDEN: status.HTTP_403_FORBIDDEN,
    ServiceError.NOT_FOUND: status.HTTP_404_NOT_FOUND,
    ServiceError.CONFLICT: status.HTTP_409_CONFLICT,
    ServiceError.UNAVAILABLE: status.HTTP_502_BAD_GATEWAY,
}


def service_error_body(error: ServiceError) -> dict:
    """{"detail": message, "<field>": [messages], ...}: DRF's shape, so clients read both alike."""
    body: dict = {"detail": error.message}
    for name, messages in error.field_errors.items():
        key = "non_field_errors" if name in ("detail", "") else name
        body.setdefault(key, []).extend(str(message) for message in messages)
    return body


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ServiceError):
        code = SERVICE_ERROR_STATUS.get(exc.kind, status.HTTP_400_BAD_REQUEST)
        return Response(service_error_body(exc), status=code)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": "The request body is too large."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, Throttled):
        view = context.get("view")
        scope = _throttled_scope(view)
        # Throttled sets `wait` in __init__; the DRF stubs leave the attribute out.
        raw_wait = exc.wait  # type: ignore[attr-defined]
        wait = int(raw_wait) if raw_wait is not None else None
        message = f"Too many {scope}: slow down"
        message += f" and try again in {wait} seconds." if wait is not None else "."
        response = exception_handler(exc, context)
        if response is not None:
            response.data = {"detail": message}
        return response
    response = exception_handler(exc, context)
    if (
        isinstance(exc, ValidationError)
        and response is not None
        and isinstance(response.data, dict)
        and "detail" not in response.data
    ):
        response.data = {"detail": "The request has errors.", **response.data}
    return response


def _throttled_scope(view) -> str:
    from api.throttles import RATE_WORDS

    for throttle in getattr(view, "throttle_classes", ()):
        words = RATE_WORDS.get(getattr(throttle, "scope", ""))
        if words:
            return words
    return "requests"
