"""What notifications say: pure builders of an email's subject and body and of a Slack-compatible
webhook payload, from `Facts` about one request.

`Facts` is the whole of what a message may mention. It has no field for the ExternalId, the policy
documents (a trust policy carries the ExternalId), what AWS holds, or credentials, and
`facts_from` blanks the request's ExternalId out of every free text it copies.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from policy.escalation import privilege_escalations

REQUESTER = "requester"
APPROVERS = "approvers"
REQUESTER_AND_APPROVERS = "requester_and_approvers"
# Break-glass: the account's approvers and every platform admin, at once (SPEC 10.2).
APPROVERS_AND_ADMINS = "approvers_and_admins"

# Every event `notify()` accepts, and who gets its email.
EVENTS: dict[str, str] = {
    "request.submitted": APPROVERS,
    "request.approved": REQUESTER,
    "request.auto_approved": REQUESTER,
    "request.break_glass": APPROVERS_AND_ADMINS,
    "request.rejected": REQUESTER,
    "request.cancelled": APPROVERS,
    "grant.activated": REQUESTER,
    "grant.failed": REQUESTER,
    "grant.expiring": REQUESTER,
    "grant.revoked": REQUESTER,
    "grant.expired": REQUESTER,
    "grant.drifted": REQUESTER_AND_APPROVERS,
    # Removing a grant found what the portal had not written (a policy attached to its role, a
    # statement added to a bucket policy): the approvers of the account should know who did.
    "grant.revoke_found_changes": APPROVERS,
    "extension.submitted": APPROVERS,
    "extension.applied": REQUESTER,
    "extension.rejected": REQUESTER,
}

SUBJECT_PREFIX = "[Access portal] "
LIST_LIMIT = 50
TEXT_LIMIT = 2000
REDACTED = "[redacted]"


@dataclass(frozen=True)
class Facts:
    """What a message may say about one request (for an extension: the extension request)."""

    request_id: int
    requester: str
    source_account: str
    source_principal: str
    target_account: str
    mechanism: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    duration: int
    justification: str
    ticket: str = ""
    extends_request_id: int | None = None
    expires_at: datetime | None = None
    now: datetime | None = None
    reason: str = ""
    last_error: str = ""
    drift: tuple[str, ...] = ()
    # The privilege-escalation findings: each action that can mint or widen permissions, and why.
    escalation: tuple[str, ...] = ()
    found: tuple[str, ...] = ()
    # The access rule that approved the request without a human (auto or break-glass).
    approved_by_rule: str = ""


@dataclass(frozen=True)
class Email:
    subject: str
    body: str


def facts_from(
    access_request: Any,
    *,
    grant=None,
    reason: str = "",
    now: datetime | None = None,
) -> Facts:
    """Facts from a request with its requester and accounts loaded. `grant` is the request's own
    grant, or for an extension the grant it extends."""
    secrets = {
        value for value in (access_request.external_id, getattr(grant, "external_id", "")) if value
    }

    def clean(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, REDACTED)
        return text[:TEXT_LIMIT]

    return Facts(
        request_id=access_request.pk,
        requester=access_request.requester.get_username(),
        source_account=str(access_request.source_account),
        source_principal=access_request.source_principal,
        target_account=str(access_request.target_account),
        mechanism=access_request.get_mechanism_display(),
        actions=tuple(str(action) for action in access_request.actions),
        resources=tuple(str(resource) for resource in access_request.resources),
        duration=access_request.duration,
        justification=clean(access_request.justification),
        ticket=access_request.ticket,
        extends_request_id=(
            getattr(grant, "access_request_id", None) if access_request.extends_id else None
        ),
        expires_at=getattr(grant, "expires_at", None),
        now=now,
        reason=clean(reason),
        last_error=clean(getattr(grant, "last_error", "") or ""),
        drift=tuple(clean(str(entry.get("what", ""))) for entry in getattr(grant, "drift", [])),
        # From the actions, as the request's findings say it (they are not read for a message).
        escalation=tuple(
            escalation.finding().message
            for escalation in privilege_escalations(str(a) for a in access_request.actions)
        ),
        found=tuple(clean(str(line)) for line in getattr(grant, "removal_found", [])),
        approved_by_rule=getattr(access_request, "approved_by_rule", ""),
    )


def request_url(base_url: str, request_id: int) -> str:
    return f"{base_url.rstrip('/')}/requests/{request_id}/"


def human_duration(seconds: float) -> str:
    """`2 days 3 hours`, `1 hour 5 minutes`, `45 minutes`, `less than a minute`."""
    seconds = int(seconds)
    if seconds < 60:
        return "less than a minute"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [(days, "day"), (hours, "hour")] if days else [(hours, "hour"), (minutes, "minute")]
    return " ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n)


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "unknown"


def _time_left(facts: Facts) -> str:
    """`in 45 minutes`, or `soon` when the expiry is unknown."""
    if facts.expires_at is None or facts.now is None:
        return "soon"
    return "in " + human_duration(max((facts.expires_at - facts.now).total_seconds(), 0))


def _headline(event: str, f: Facts) -> tuple[str, str]:
    """The subject (without prefix) and the opening paragraph of one event."""
    n = f.request_id
    original = f"request #{f.extends_request_id}" if f.extends_request_id else "the grant"
    match event:
        case "request.submitted":
            return (
                f"Request #{n} awaits your approval: {f.requester} to {f.target_account}",
                f"{f.requester} asks for access to {f.target_account} from {f.source_account}. "
                "You are an approver: the request page shows the exact policy documents.",
            )
        case "request.approved":
            return (
                f"Request #{n} approved",
                "Your request was approved. The portal is writing the access into AWS; "
                "another message follows when it is active.",
            )
        case "request.auto_approved":
            return (
                f"Request #{n} approved by rule {f.approved_by_rule}",
                f"Your request was approved by the access rule {f.approved_by_rule}, without a "
                "human. The portal is writing the access into AWS; another message follows when "
                "it is active.",
            )
        case "request.break_glass":
            return (
                f"Break-glass: {f.requester} in {f.target_account} (request #{n}), review it",
                f"{f.requester} used break-glass access to {f.target_account} under the rule "
                f"{f.approved_by_rule}: the portal provisions it at once, without approval. "
                "As an approver or admin, review it on the request page: mark it reviewed, or "
                "revoke it.",
            )
        case "request.rejected":
            return f"Request #{n} rejected", f"Your request was rejected.\nReason: {f.reason}"
        case "request.cancelled":
            return (
                f"Request #{n} cancelled",
                f"{f.requester} cancelled the request: there is nothing left to decide.",
            )
        case "grant.activated":
            return (
                f"Access active: request #{n}",
                f"Your access is active until {_when(f.expires_at)}.",
            )
        case "grant.failed":
            return (
                f"Provisioning failed: request #{n}",
                "The portal could not write the access into AWS; it can be retried from the "
                f"request page.\nError: {f.last_error or 'see the request page'}",
            )
        case "grant.expiring":
            left = _time_left(f)
            ends = f"at {_when(f.expires_at)}, {left}" if f.expires_at else left
            return (
                f"Access ends {left}: request #{n}",
                f"Your access ends {ends}. "
                "Ask for an extension on the request page if you need longer.",
            )
        case "grant.revoked":
            return (
                f"Access revoked: request #{n}",
                "Your access was revoked: the portal removed what it had written into AWS.",
            )
        case "grant.expired":
            return (
                f"Access expired: request #{n}",
                "Your access expired: the portal removed what it had written into AWS.",
            )
        case "grant.drifted":
            changes = "\n".join(f"  - {what}" for what in f.drift) or "  - see the request page"
            return (
                f"Drift on request #{n}: AWS no longer holds what was approved",
                "What the portal wrote into AWS was changed outside the portal:\n"
                f"{changes}\nRe-apply or revoke the grant from the request page.",
            )
        case "grant.revoke_found_changes":
            found = _listed(f.found) or "  - see the request page"
            return (
                f"Request #{n}: removing the grant found changes made outside the portal",
                "Removing this grant, the portal found in AWS what it had not written:\n"
                f"{found}\nIt removed its own role whatever was attached to it (managed policies "
                "are detached, not deleted) and left statements of others in resource policies "
                "in place. Find out who made these changes and whether they should stay.",
            )
        case "extension.submitted":
            return (
                f"Extension #{n} of {original} awaits your approval",
                f"{f.requester} asks for {human_duration(f.duration)} more on the access of "
                f"{original}, which ends at {_when(f.expires_at)}.",
            )
        case "extension.applied":
            return (
                f"Extension #{n} approved: {original} now ends {_when(f.expires_at)}",
                f"Your extension #{n} was approved: the access of {original} now ends at "
                f"{_when(f.expires_at)}.",
            )
        case "extension.rejected":
            return (
                f"Extension #{n} of {original} rejected",
                f"Your extension was rejected.\nReason: {f.reason}\n"
                f"The access keeps running until {_when(f.expires_at)}.",
            )
    raise ValueError(f"unknown notification event {event!r}")


def _listed(items: tuple[str, ...]) -> str:
    lines = [f"  - {item}" for item in items[:LIST_LIMIT]]
    if len(items) > LIST_LIMIT:
        lines.append(f"  ... and {len(items) - LIST_LIMIT} more")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _quoted(text: str) -> str:
    """What the requester typed, every line behind `> `: none of it can pass for a line of the
    message's own (a second "Open the request: <somewhere else>")."""
    return "\n".join(f"> {line}" for line in text.splitlines() or [""])


def email(event: str, facts: Facts, *, base_url: str) -> Email:
    subject, opening = _headline(event, facts)
    url = request_url(base_url, facts.request_id)
    label = "Extension" if facts.extends_request_id else "Request"
    details = [
        f"{label} #{facts.request_id}",
        f"Requester: {facts.requester}",
        f"Source account: {facts.source_account}",
        f"Source principal: {facts.source_principal}",
        f"Target account: {facts.target_account}",
        f"Mechanism: {facts.mechanism}",
        f"Duration: {human_duration(facts.duration)}",
    ]
    if facts.ticket:
        details.append(f"Ticket: {_one_line(facts.ticket)}")
    warning = (
        [
            "Privilege escalation: these actions can mint or widen permissions, so a platform "
            "admin must approve too, on top of the account's approvers.",
            _listed(facts.escalation),
            "",
        ]
        if facts.escalation and event.endswith(".submitted")
        else []
    )
    body = "\n".join(
        [
            opening,
            "",
            *warning,
            *details,
            "Actions:",
            _listed(facts.actions),
            "Resources:",
            _listed(facts.resources),
            "Justification:",
            _quoted(facts.justification),
            "",
            f"Open the {label.lower()}: {url}",
            *(
                [f"Original request: {request_url(base_url, facts.extends_request_id)}"]
                if facts.extends_request_id
                else []
            ),
            "",
            "-- ",
            "The cross-account access portal. This message was sent automatically.",
        ]
    )
    return Email(subject=_one_line(SUBJECT_PREFIX + subject), body=body + "\n")


def _slack_escape(text: str) -> str:
    # https://api.slack.com/reference/surfaces/formatting#escaping
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_payload(event: str, facts: Facts, *, base_url: str) -> dict[str, str]:
    """`{"text": ...}`: what Slack, Mattermost and most chat tools take on an incoming webhook."""
    subject, _opening = _headline(event, facts)
    url = request_url(base_url, facts.request_id)
    summary = (
        f"{facts.requester}: {facts.source_account} to {facts.target_account}, "
        f"{facts.mechanism}, {len(facts.actions)} action(s) on {len(facts.resources)} resource(s)"
        + (", privilege escalation: a platform admin must approve" if facts.escalation else "")
    )
    return {
        "text": f"{_slack_escape(_one_line(subject))}\n"
        f"<{url}|Request #{facts.request_id}> · {_slack_escape(summary)}"
    }
