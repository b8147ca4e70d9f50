"""A request's life in words, from its audit trail: the timeline of the request page."""

from dataclasses import dataclass
from datetime import datetime

from access_requests.models import AccessRequest, Approval
from audit.models import AuditEvent


@dataclass(frozen=True)
class TimelineEntry:
    """One step of a request's life, in words, for the request page."""

    title: str
    when: datetime | None = None
    actor: str = ""  # "" is the portal itself
    detail: str = ""
    tone: str = "info"  # info, ok, bad, wait (colour and icon; the words say it too)
    upcoming: bool = False
    until: datetime | None = None  # a countdown to this time


def _iso(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _entry(event: AuditEvent, approvals: dict[str, Approval]) -> list[TimelineEntry]:
    """What one audit event says, as timeline entries (none for events of no interest here)."""
    after = event.after or {}
    actor = event.actor.get_username() if event.actor else ""
    at = event.created_at
    verb = event.verb
    if verb in ("request.submitted", "extension.submitted"):
        return [TimelineEntry("Submitted", at, actor)]
    if verb == "request.edited":
        return [
            TimelineEntry(
                "Edited", at, actor, "Approvals given on the earlier documents no longer count."
            )
        ]
    if verb == "request.approval_given":
        approval = approvals.get(event.object_id)
        comment = f"“{approval.comment}”" if approval and approval.comment else ""
        return [TimelineEntry("Approved", at, actor, comment, tone="ok")]
    if verb == "request.approved":
        count = after.get("approvals")
        detail = f"{count} approval{'s' if count != 1 else ''} reached the quorum." if count else ""
        return [TimelineEntry("Approval complete", at, "", detail, tone="ok")]
    if verb == "request.rejected":
        reason = after.get("reason", "")
        return [TimelineEntry("Rejected", at, actor, f"Reason: {reason}" if reason else "", "bad")]
    if verb == "request.cancelled":
        return [TimelineEntry("Cancelled", at, actor)]
    if verb == "grant.provisioning":
        return [TimelineEntry("Provisioning started", at, "", "The worker writes the documents.")]
    if verb == "grant.activated":
        until = _iso(after.get("expires_at"))
        return [
            TimelineEntry(
                "Verified",
                at,
                "",
                "Read back from AWS: every document matches what was approved, and the AWS "
                "evaluation logic allows each action.",
                tone="ok",
            ),
            TimelineEntry("Active", at, "", tone="ok", until=until),
        ]
    if verb == "grant.failed":
        return [TimelineEntry("Failed", at, "", after.get("error", ""), tone="bad")]
    if verb == "grant.rolled_back":
        removed = after.get("removed") or []
        found = after.get("found") or []
        detail = (
            "Removed everything the grant had written: " + "; ".join(removed) + "."
            if removed
            else "Nothing had been written; nothing to remove."
        )
        if found:
            detail += " Found beyond what the portal wrote: " + "; ".join(found) + "."
        return [TimelineEntry("Rolled back", at, "", detail, tone="bad" if found else "info")]
    if verb == "grant.retry_requested":
        return [
            TimelineEntry("Retry asked", at, actor, "What the failed attempt wrote goes first.")
        ]
    if verb == "grant.retried":
        return [TimelineEntry("Retry asked" if actor else "Provisioning again", at, actor)]
    if verb == "grant.revoke_retried":
        return [TimelineEntry("Revoke retried", at, actor)]
    if verb == "grant.expiring":
        return [
            TimelineEntry(
                "Expiry notice sent", at, "", tone="wait", until=_iso(after.get("expires_at"))
            )
        ]
    if verb in ("grant.extended", "extension.applied"):
        until = _iso(after.get("expires_at"))
        return [TimelineEntry("Extended", at, actor, tone="ok", until=until)]
    if verb == "grant.revoking":
        return [
            TimelineEntry("Revoke asked", at, actor, "The worker removes what the portal wrote.")
        ]
    if verb == "grant.expiry_started":
        return [
            TimelineEntry("Expiry reached", at, "", "The worker removes what the portal wrote.")
        ]
    if verb in ("grant.revoked", "grant.expired"):
        removed, found = after.get("removed") or [], after.get("found") or []
        detail = "Removed: " + "; ".join(removed) + "." if removed else ""
        if found:
            detail += " Found beyond what the portal wrote: " + "; ".join(found) + "."
        title = "Revoked" if verb == "grant.revoked" else "Expired"
        return [TimelineEntry(title, at, "", detail.strip(), tone="bad" if found else "info")]
    if verb == "grant.drifted":
        what = "; ".join(after.get("differences") or [])
        return [TimelineEntry("Changed outside the portal", at, "", what, tone="bad")]
    if verb == "grant.drift_cleared":
        return [TimelineEntry("Matches the approved documents again", at, "", tone="ok")]
    if verb == "grant.reapply_requested":
        return [TimelineEntry("Re-apply asked", at, actor)]
    if verb == "grant.reapplied":
        return [TimelineEntry("Approved documents re-applied", at, "", tone="ok")]
    if verb == "credentials.issued":
        return [TimelineEntry("Session started", at, actor)]
    return []


def access_request_timeline(
    *, access_request: AccessRequest, approvals: list[Approval], waiting_for: str = ""
) -> list[TimelineEntry]:
    """The request's life from its audit trail, oldest first, then what comes next. One query,
    however long the trail (`approvals`, from access_request_approvals, give the comments)."""
    events = (
        AuditEvent.objects.filter(access_request=access_request)
        .select_related("actor")
        .order_by("created_at", "id")
    )
    by_pk = {str(approval.pk): approval for approval in approvals}
    entries = [entry for event in events for entry in _entry(event, by_pk)]
    status = access_request.status
    Status = AccessRequest.Status
    if status == Status.PENDING:
        entries.append(
            TimelineEntry(
                "Waiting for approval",
                detail=f"Waiting for {waiting_for}." if waiting_for else "",
                tone="wait",
                upcoming=True,
            )
        )
    elif status in (Status.APPROVED, Status.PROVISIONING):
        entries.append(
            TimelineEntry(
                "Verification",
                detail="The portal reads the documents back from AWS before it calls the grant "
                "active.",
                tone="wait",
                upcoming=True,
            )
        )
    elif status == Status.REVOKING:
        entries.append(TimelineEntry("Removal", tone="wait", upcoming=True))
    return entries


def access_request_timeline_version(*, access_request_id: int) -> int:
    """The newest audit event of the request: the page reloads when it changes."""
    newest = (
        AuditEvent.objects.filter(access_request_id=access_request_id)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    return newest or 0
