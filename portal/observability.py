"""What operators see of the running portal (SPEC 10.7): the request id of every web request, its
time in the metrics, and `GET /metrics` for Prometheus."""

import hmac
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.encoding import escape_uri_path
from django.views.decorators.http import require_GET

from core import metrics, request_ids

logger = logging.getLogger("portal.requests")
_FIGURES_KEY = "metrics:figures"
# The methods the metrics name; any other (the caller chooses it: any token of letters) counts as
# "other", so a caller cannot add label values, and series, without end.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestIdMiddleware:
    """Takes the caller's `X-Request-ID` when it is well formed, else makes one; every log line,
    task and audit event of the request carries it, and the response sends it back. One log line
    a request (method, path, status, milliseconds) and its time in
    `portal_http_request_seconds`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id, token = request_ids.begin(request.headers.get(request_ids.HEADER))
        try:
            response = self.get_response(request)
            response[request_ids.HEADER] = request_id
            seconds = time.perf_counter() - started
            status_class = f"{response.status_code // 100}xx"
            method = request.method if request.method in _METHODS else "other"
            metrics.HTTP_REQUESTS.labels(method=method, status=status_class).observe(seconds)
            logger.info(
                "%s %s %s %.1f ms",
                request.method,
                # As it came on the wire: request.path is decoded, and a %0A in it would end the
                # line in the plain log and let the caller write the next one.
                escape_uri_path(request.path),
                response.status_code,
                seconds * 1000,
                extra={"status": response.status_code, "duration_ms": round(seconds * 1000, 1)},
            )
            return response
        finally:
            request_ids.end(token)


def _token_state(request: HttpRequest) -> int:
    """200 for the right bearer token, 401 for none (or metrics off), 403 for a wrong one."""
    expected = settings.PORTAL_METRICS_TOKEN
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not presented.strip():
        return 401
    if hmac.compare_digest(presented.strip().encode(), expected.encode()):
        return 200
    return 403


def _figures() -> list[tuple[str, str, float]]:
    """The database gauges, cached a few seconds: several scrapers cost one look."""
    from access_requests.selectors import operations_figures

    figures = cache.get(_FIGURES_KEY)
    if figures is None:
        figures = operations_figures()
        cache.set(_FIGURES_KEY, figures, settings.PORTAL_METRICS_CACHE_SECONDS)
    return [tuple(figure) for figure in figures]


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format for a caller presenting PORTAL_METRICS_TOKEN as a bearer token:
    every process's counters and histograms (web, workers, beat) and the database gauges."""
    state = _token_state(request)
    if state == 401:
        response = HttpResponse(
            "A bearer token (PORTAL_METRICS_TOKEN) is required.\n",
            status=401,
            content_type="text/plain",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if state == 403:
        return HttpResponse(
            "That is not the metrics token.\n", status=403, content_type="text/plain"
        )
    response = HttpResponse(metrics.exposition(_figures), content_type=metrics.CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response
