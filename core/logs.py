"""Log records carry the request id (core.request_ids); `PORTAL_LOG_FORMAT=json` writes one JSON
object a line (python-json-logger), for a log store to index by `request_id`."""

import logging
from typing import Any

from core import request_ids

# What each JSON line holds besides the message (and any `extra=` fields of the call).
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(process)d %(request_id)s %(message)s"
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (empty outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = request_ids.current() or "-"
        return True


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        JSON_FIELDS,
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
    )


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """Django's LOGGING for `plain` or `json` lines on standard error."""
    formatter: dict[str, Any] = (
        {"()": "core.logs.json_formatter"} if log_format == "json" else {"format": PLAIN_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "core.logs.RequestIdFilter"}},
        "formatters": {"portal": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "portal",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # botocore at DEBUG prints request bodies, which carry vended credentials: never
            # below INFO.
            "botocore": {"level": "INFO"},
            "boto3": {"level": "INFO"},
            # One "Found credentials in environment variables" line per client is noise.
            "botocore.credentials": {"level": "WARNING"},
            "urllib3": {"level": "INFO"},
            # django-axes: lockouts and failures are warnings; one info line per sign-in is noise.
            "axes": {"level": "WARNING"},
        },
    }


def handler_adapt(handler: logging.Handler, *, log_format: str) -> None:
    """A handler someone else made (Celery's worker sets up its own): the request id, and JSON
    when asked for."""
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(json_formatter())
