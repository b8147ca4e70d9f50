"""GET /healthz: is the database, the broker and AWS reachable? 200 when all are, else 503."""

import logging

from celery import current_app
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu.transport import redis as redis_transport

import aws

logger = logging.getLogger(__name__)


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _broker() -> str:
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=0, timeout=2)
        channel = conn.default_channel
        if not isinstance(channel, redis_transport.Channel):
            raise TypeError(f"the broker is not Redis but {type(channel).__name__}")
        channel.client.ping()
    return "ok"


def _aws() -> str:
    aws.caller_identity()
    return "ok"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {}
    for name, check in (("database", _database), ("broker", _broker), ("aws", _aws)):
        try:
            checks[name] = check()
        except Exception as error:  # a health check reports every failure, it never raises
            logger.warning("health check %s failed: %s", name, error)
            checks[name] = f"down: {type(error).__name__}"
    healthy = all(state == "ok" for state in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status=200 if healthy else 503,
    )
