"""Every read of the audit trail: who sees which events, and the filters of the page and exports."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone

from audit.models import AuditEvent
from core import request_ids

FILTER_MAX_LENGTH = 64
BIGINT_MAX = 2**63 - 1


def audit_events_visible_to(*, user: User) -> QuerySet[AuditEvent]:
    """Admins see every event; everyone else sees the events they caused."""
    events = AuditEvent.objects.select_related("actor")
    if user.is_superuser:
        return events
    return events.filter(actor=user)


def _day_start(day: date) -> datetime:
    """Midnight at the start of `day` in the portal's time zone, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def audit_events_filtered(
    *,
    user: User,
    request_id: int | None = None,
    actor: str = "",
    verb: str = "",
    since: date | None = None,
    until: date | None = None,
    trace: str = "",
) -> QuerySet[AuditEvent]:
    """The events `user` may see, narrowed by request, actor username, verb prefix, a range of
    days (both ends included) and the trace (the request id of the web request or task that
    recorded them, as on the log lines). Filters combine with AND; an empty one does not
    narrow."""
    events = audit_events_visible_to(user=user)
    if trace:
        events = events.filter(request_id=trace)
    if request_id is not None:
        events = events.filter(access_request_id=request_id)
    if actor:
        events = events.filter(actor__username=actor)
    if verb:
        events = events.filter(verb__startswith=verb)
    # Ranges on created_at itself rather than created_at__date, so its index is used.
    if since is not None:
        events = events.filter(created_at__gte=_day_start(since))
    if until is not None:
        events = events.filter(created_at__lt=_day_start(until + timedelta(days=1)))
    return events


@dataclass
class AuditFilters:
    """The audit page's filters as typed in (`raw`, to show them again) and as parsed."""

    raw: dict[str, str]
    request_id: int | None = None
    actor: str = ""
    verb: str = ""
    since: date | None = None
    until: date | None = None
    trace: str = ""
    errors: list[str] = field(default_factory=list)

    def arguments(self) -> dict:
        """Keyword arguments for audit_events_filtered."""
        return {
            "request_id": self.request_id,
            "actor": self.actor,
            "verb": self.verb,
            "since": self.since,
            "until": self.until,
            "trace": self.trace,
        }

    @property
    def active(self) -> bool:
        return any(self.raw.values())


FILTER_KEYS = ("request", "actor", "verb", "from", "to", "trace")


def _unstorable(text: str) -> bool:
    """PostgreSQL takes no NUL in text, and UTF-8 no lone surrogate."""
    return "\x00" in text or any("\ud800" <= char <= "\udfff" for char in text)


def _date_parse(text: str, label: str, errors: list[str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.append(f"{label}: “{text}” is not a date; use YYYY-MM-DD.")
        return None


def audit_filters_parse(params: Mapping[str, str]) -> AuditFilters:
    """Read the filters from a query string. A value that does not parse is reported in `errors`
    and does not narrow the events, so the caller can show the message instead of guessing."""
    raw = {key: str(params.get(key, "")).strip()[:FILTER_MAX_LENGTH] for key in FILTER_KEYS}
    if any(_unstorable(value) for value in raw.values()):
        # No event holds one: said as an error, not a database error (a 500).
        return AuditFilters(
            raw=raw, errors=["Filters are plain text: no NUL or surrogate characters."]
        )
    filters = AuditFilters(raw=raw, actor=raw["actor"], verb=raw["verb"])
    request = raw["request"].removeprefix("#")
    if request:
        if request.isascii() and request.isdigit() and int(request) <= BIGINT_MAX:
            filters.request_id = int(request)
        else:
            filters.errors.append(f"Request: “{raw['request']}” is not a request number.")
    if raw["trace"]:
        if request_ids.valid(raw["trace"]):
            filters.trace = raw["trace"]
        else:
            filters.errors.append(
                f"Trace: “{raw['trace']}” is not a request id (letters, digits, - _ . only)."
            )
    filters.since = _date_parse(raw["from"], "From", filters.errors)
    filters.until = _date_parse(raw["to"], "To", filters.errors)
    if filters.since and filters.until and filters.since > filters.until:
        filters.errors.append("From is after To: no day lies between them.")
        filters.since = filters.until = None
    return filters
