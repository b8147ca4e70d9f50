import json
import re
from typing import Any

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_TOKEN = re.compile(
    r'(?P<key>"(?:[^"\\]|\\.)*"(?=\s*:))|(?P<string>"(?:[^"\\]|\\.)*")'
    r"|(?P<number>-?\d+(?:\.\d+)?)|(?P<literal>true|false|null)"
)


@register.filter
def json_highlight(value: Any) -> SafeString:
    """Pretty JSON with spans for keys, strings, numbers and literals; everything escaped."""
    text = json.dumps(value, indent=2)
    out: list[str] = []
    last = 0
    for match in _TOKEN.finditer(text):
        out.append(escape(text[last : match.start()]))
        kind = match.lastgroup
        out.append(f'<span class="j-{kind}">{escape(match.group())}</span>')
        last = match.end()
    out.append(escape(text[last:]))
    return mark_safe("".join(out))  # nosec B308 B703  # noqa: S308 (every piece above is escaped)


@register.filter
def seconds_human(seconds: int | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day{'s' if days != 1 else ''}"
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = seconds // 60
    return f"{minutes} minutes"


@register.filter
def mechanism_label(value: str) -> str:
    from access_requests.models import Mechanism

    return Mechanism(value).label if value in Mechanism.values else ""


@register.filter
def thousands(value: int) -> str:
    """12345 -> "12,345", as the size limits are written in AWS's documentation."""
    return f"{int(value):,}"


@register.filter
def escalations(findings: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The privilege-escalation findings among a request's findings: what the approvers are
    warned of, each action with its reason."""
    from policy.escalation import CODE

    return [finding for finding in findings or [] if finding.get("code") == CODE]
