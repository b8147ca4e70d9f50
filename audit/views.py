"""The audit page and its exports: parse the filters, call the selector, render or stream."""

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from audit.models import AuditEvent
from audit.selectors import audit_events_filtered, audit_filters_parse
from core.http import AuthenticatedHttpRequest

PAGE_SIZE = 50
EXPORT_CHUNK_SIZE = 1000
EXPORT_FIELDS = (
    "id",
    "created_at",
    "actor",
    "verb",
    "object_type",
    "object_id",
    "request_id",
    "trace",
    "before",
    "after",
    "client_address",
)
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@login_required
@require_GET
def audit_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    filters = audit_filters_parse(request.GET)
    events: QuerySet[AuditEvent]
    if filters.errors:
        events = AuditEvent.objects.none()
    else:
        events = audit_events_filtered(user=request.user, **filters.arguments())
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = _with_log_links(list(page.object_list))
    return render(
        request,
        "audit/list.html",
        {
            "page": page,
            "filters": filters,
            "export_query": urlencode({key: value for key, value in filters.raw.items() if value}),
        },
        status=400 if filters.errors else 200,
    )


def _with_log_links(events: list[AuditEvent]) -> list[AuditEvent]:
    """Each event with its link to its log lines in the log store (`log_link`:
    PORTAL_LOG_SEARCH_URL with the request id in place of `{request_id}`; empty when no store is
    configured or the event has no request id)."""
    template = settings.PORTAL_LOG_SEARCH_URL
    for event in events:
        link = template.replace("{request_id}", quote(event.request_id, safe=""))
        event.log_link = link if template and event.request_id else ""  # type: ignore[attr-defined]
    return events


@login_required
@require_GET
def audit_export(
    request: AuthenticatedHttpRequest, export_format: str
) -> HttpResponse | StreamingHttpResponse:
    """The filtered events, every page of them, as a CSV or JSON download. Streamed from a
    server-side cursor, so memory and the number of queries stay flat however many rows match."""
    filters = audit_filters_parse(request.GET)
    if filters.errors:
        return HttpResponse(
            "\n".join(filters.errors) + "\n", status=400, content_type="text/plain; charset=utf-8"
        )
    events = audit_events_filtered(user=request.user, **filters.arguments())
    if export_format == "csv":
        content, content_type = _csv_lines(events), "text/csv; charset=utf-8"
    else:
        content, content_type = _json_chunks(events), "application/json"
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = StreamingHttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="audit-events-{stamp}.{export_format}"'
    response["Cache-Control"] = "no-store"
    return response


def _export_rows(events: QuerySet[AuditEvent]) -> Iterator[dict[str, Any]]:
    for event in events.iterator(chunk_size=EXPORT_CHUNK_SIZE):
        yield {
            "id": event.pk,
            "created_at": event.created_at.isoformat(),
            "actor": event.actor.get_username() if event.actor else None,
            "verb": event.verb,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "request_id": event.access_request_id,
            "trace": event.request_id,
            "before": event.before,
            "after": event.after,
            "client_address": event.client_address,
        }


def csv_cell(value: Any) -> str | int:
    """One CSV cell: JSON for structures, empty for None, and text that a spreadsheet would run
    as a formula prefixed with a single quote so it shows as text."""
    if value is None:
        return ""
    if isinstance(value, int):
        return value
    if isinstance(value, dict | list):
        value = json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


class _Echo:
    """A file-like object whose write() hands the line back, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(events: QuerySet[AuditEvent]) -> Iterable[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_FIELDS)
    for row in _export_rows(events):
        yield writer.writerow([csv_cell(row[key]) for key in EXPORT_FIELDS])


def _json_chunks(events: QuerySet[AuditEvent]) -> Iterable[str]:
    yield "["
    separator = "\n"
    for row in _export_rows(events):
        yield separator + json.dumps(row, cls=DjangoJSONEncoder, ensure_ascii=False)
        separator = ",\n"
    yield "\n]\n"
